"""One router per domain (FastAPI's tutorial layout), included by :mod:`consortium.service.app`."""
