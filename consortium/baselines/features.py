"""Leg features of the boosted ETA models (they live in :mod:`consortium.models.leg_features`)."""

from consortium.models.leg_features import (
    CATEGORICAL_FEATURES,
    CONTEXT_FEATURES,
    feature_categories,
    leg_features,
)

__all__ = ["CATEGORICAL_FEATURES", "CONTEXT_FEATURES", "feature_categories", "leg_features"]
