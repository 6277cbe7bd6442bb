"""The ``consortium`` command line (an edge: nothing in the package imports it)."""
