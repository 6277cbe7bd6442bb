"""DAO governance by point holders: proposals, snapshot voting, timelock, execution.

``rules`` is pure (the Governor lifecycle, quorum, majority, capped power); ``params`` builds and
checks the ``proposal.v1``/``vote.v1`` messages; ``models``/``store`` persist proposals and votes;
``execution`` applies a passed proposal to the running consortium.
"""
