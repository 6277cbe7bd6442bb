"""The client layer: the actions a person takes from a UI, as small typed functions.

A UI (the notebooks, :mod:`consortium.widgets`, the dashboard) does two things with the
coordinator: it reads read-only projections (:mod:`consortium.queries`, through
:meth:`Coordinator.read`) and it acts, through the functions here. Each action takes the
coordinator handle first, then keyword-only arguments, the acting person's
:class:`~consortium.ledger.signing.Signer` among them, and returns a frozen value:

* :mod:`~consortium.client.connection`: the :class:`Coordinator` handle (:func:`connect`), and
  the coordinator's query service (:func:`with_query_service`);
* :mod:`~consortium.client.keys`: the actor's key (:func:`load_key`);
* :mod:`~consortium.client.board`: propose, vote (signed with the voter's key), read voting power,
  queue and execute;
* :mod:`~consortium.client.cargo`: buy a lane or warehouse forecast, read one's own balance;
* :mod:`~consortium.client.treasury`: deposit points bought off-ledger;
* :mod:`~consortium.client.demo`: start a demo consortium (keys, ledger, members) on one machine.

**Today these calls run in-process against the coordinator's stores** (the handle holds a
session factory over its database). A later issue replaces their insides with signed HTTP
requests to the coordinator service; the signatures stay: a UI passes the actor's ``Signer``
and the coordinator handle, and never touches a ``Session`` or a store. Signing already happens
here, on the actor's side (a paid query is signed before it is sent).
"""

from consortium.client.connection import Coordinator, connect, with_query_service
from consortium.client.keys import Signer, load_key

__all__ = ["Coordinator", "Signer", "connect", "load_key", "with_query_service"]
