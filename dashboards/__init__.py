"""The coordinator's Streamlit dashboard: ``app.py`` routes to the pages in ``views/``.

Run it with ``streamlit run dashboards/app.py -- --db URL --models DIR`` (see ``context``). The
pages are thin: they read through :mod:`consortium.queries` and act through the kit's services.
"""
