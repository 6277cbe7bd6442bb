"""The boosted baselines' LightGBM fit; it lives in :mod:`consortium.models.boosting`."""

from consortium.models.boosting import BoostingParams, FittedModel, fit_booster, holdout_rows

__all__ = ["BoostingParams", "FittedModel", "fit_booster", "holdout_rows"]
