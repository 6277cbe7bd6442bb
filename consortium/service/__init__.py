"""The coordinator service: an HTTP API (FastAPI on uvicorn) over the coordinator's stores.

Clients sign requests on their own machines (:mod:`consortium.ledger.requests`); the service
checks them, writes the entries with the coordinator key it alone holds, and returns receipts
(a signed tree head and an inclusion proof). :func:`consortium.service.app.create_app` builds it.
"""
