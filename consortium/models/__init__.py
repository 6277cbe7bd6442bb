"""The ETA and stock-risk models: encoders, networks, training, calibration, model cards."""
