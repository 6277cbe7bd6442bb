"""Differential privacy: budget bookkeeping, the persistent accountant and the Opacus engine."""
