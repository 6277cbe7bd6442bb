from sqlalchemy.orm import Session, sessionmaker

from consortium.ledger.signing import Signer
from consortium.membership import admit_member, remove_member, request_exit
from consortium.points.store import balances
from consortium.queries.members import members_frame
from tests.queries.world import MEMBERS, World


def test_roster_lists_members_in_admission_order_with_their_points(world: World) -> None:
    with world.factory.begin() as s:
        roster = members_frame(s)
        held = balances(s)
    assert roster["member"].tolist() == list(MEMBERS)
    assert roster["admitted_seq"].is_monotonic_increasing
    assert set(roster["status"]) == {"active"}
    assert roster["points"].tolist() == [held.get(f"member:{m}", 0) for m in MEMBERS]
    assert roster["removed_seq"].isna().all()


def test_a_removed_member_stays_listed_as_removed(
    factory: sessionmaker[Session], coordinator: Signer
) -> None:
    # Prepare
    alpha, beta = Signer.generate(), Signer.generate()
    with factory.begin() as s:
        admit_member(s, member="alpha", public_key=alpha.public_key, signer=coordinator)
        admit_member(s, member="beta", public_key=beta.public_key, signer=coordinator)
        request_exit(s, member="alpha", signer=alpha)
        removed = remove_member(s, member="alpha", signer=coordinator)
    # Execute
    with factory.begin() as s:
        roster = members_frame(s).set_index("member")
    # Assert
    assert roster.loc["alpha", "status"] == "removed"
    assert roster.loc["alpha", "removed_seq"] == removed.removed_seq
    assert roster.loc["alpha", "removed_by"] == "exit"
    assert roster.loc["beta", "status"] == "active"
