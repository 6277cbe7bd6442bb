"""Logistics Consortium Kit: federated, differentially private forecasting for logistics members.

The package is layered (see ``../shared/STYLE.md`` and ``[tool.importlinter]`` in pyproject):
pure core modules (``errors``, ``config``, ``ledger``) at the bottom, adapters that each own one
framework (``schemas``, ``data``, ``models``, ``privacy``, ``federation``, ``db``) above them, and
edges (``cli``, notebooks, dashboards) on top that nothing imports.
"""

__version__ = "0.1.0"
