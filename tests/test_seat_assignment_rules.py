"""Who may be given a seat (DOMAIN.md, "MemberSync's own rules"): a person holds at most one seat of a seat type in
an organization, and asking for a second is `already_has_seat` whether or not seats are free; a free seat of a pool
whose paying subscription has ended cannot be given (`no_free_seat`) until the pool is paid again, yet those seats
still count (seats_total, seats_used, and as in use when removing seats)."""

from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membersync import clock
from membersync.actors import Actor
from membersync.catalog.services import course_create, seat_type_create
from membersync.errors import ServiceError
from membersync.members.subscriptions import subscription_update
from membersync.orgs import services
from membersync.orgs.models import Invitation, Seat
from membersync.orgs.selectors import org_seat_counts
from membersync.people.models import Member

from .conftest import at

BASE = at("2026-01-01T09:00")
ADMIN = Actor.operator("admin")


def outcome(call) -> str:
    try:
        call()
    except ServiceError as error:
        return error.code
    return "seat"


def assign(member: str, seat_type: str | None = None) -> str:
    return outcome(lambda: services.seat_assign(org_id="acme", member_id=member, seat_type_id=seat_type, actor=ADMIN))


def held_types(member: str) -> set[str]:
    return set(Seat.objects.filter(holder__external_id=member).values_list("seat_type__external_id", flat=True))


def pool_subscription(status: str, **fields) -> None:
    state = {"id": "900", "member": "olivia", "status": status, **fields}
    subscription_update(subscription=state, actor=Actor.connection("store"), source="webhook")


def acme(**seats: int):
    """acme with `seats` seats of each named type, bought outright."""
    clock.set_time(BASE)
    course_create(external_id="safety")
    for seat_type in ("standard", "driver"):
        seat_type_create(external_id=seat_type, grants=[{"course": "safety"}])
    services.org_create(org_id="acme", owner_id="olivia", actor=ADMIN)
    for seat_type, quantity in seats.items():
        if quantity:
            services.seats_add(org_id="acme", seat_type_id=seat_type, quantity=quantity, actor=ADMIN)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    standard=st.integers(min_value=0, max_value=3),
    driver=st.integers(min_value=0, max_value=3),
    others=st.integers(min_value=0, max_value=4),
    asks=st.lists(st.sampled_from([None, "standard", "driver"]), min_size=1, max_size=6),
)
def test_a_second_seat_of_a_type_is_already_has_seat_and_no_free_seat_only_means_none_is_free(
    standard, driver, others, asks
):
    """`others` people take seats first; then sam asks again and again, for a type or for any."""
    with transaction.atomic():
        acme(standard=standard, driver=driver)
        for index in range(others):
            assign(f"other-{index}")
        types_in_org = {t for t, n in (("standard", standard), ("driver", driver)) if n}
        for ask in asks:
            free = {
                t
                for t in types_in_org
                if Seat.objects.filter(seat_type__external_id=t, holder__isnull=True, invitation__isnull=True).exists()
            }
            mine = held_types("sam")
            wanted = {ask} if ask is not None else types_in_org
            before = org_seat_counts(Seat.objects.first().organization) if Seat.objects.exists() else None
            got = assign("sam", ask)
            if ask is not None and ask not in types_in_org and not mine & {ask}:
                expected = "no_free_seat"  # a type the organization never bought
            elif wanted and wanted <= mine:
                expected = "already_has_seat"  # only a second seat of a type she holds would do
            elif (wanted - mine) & free:
                expected = "seat"
            else:
                expected = "no_free_seat"
            assert got == expected, (ask, mine, free)
            if got != "seat" and before is not None:
                assert org_seat_counts(Seat.objects.first().organization) == before  # refused: nothing changed
            assert Seat.objects.filter(holder__external_id="sam").count() == len(held_types("sam"))
        clock.set_time(None)
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "ended, fields",
    [("cancelled", {}), ("expired", {}), ("pending-cancel", {"end": "2026-01-20T00:00:00"})],
)
def test_free_seats_of_a_pool_whose_subscription_ended_cannot_be_given_but_still_count(ended, fields):
    acme()
    pool_subscription("active")
    services.seats_add(org_id="acme", seat_type_id="standard", quantity=4, subscription_id="900", actor=ADMIN)
    assert assign("sam") == "seat"
    clock.set_time(BASE + timedelta(days=5))
    pool_subscription("on-hold")
    assert assign("sue") == "seat"  # on hold the pool is not ended: her seat opens when it is paid again
    clock.set_time(BASE + timedelta(days=10))
    pool_subscription(ended, **fields)
    if ended == "pending-cancel":
        assert assign("tom") == "seat"  # still paid until the prepaid end
        clock.set_time(at("2026-01-20T01:00"))
    org = Seat.objects.first().organization
    counts = org_seat_counts(org)

    assert assign("ann") == "no_free_seat"
    invite = lambda: services.invitation_create(  # noqa: E731
        org_id="acme", email="ann@example.com", hold_seat_type_id="standard", actor=ADMIN
    )
    assert outcome(invite) == "no_free_seat"
    assert not Invitation.objects.exists()
    assert org_seat_counts(org) == counts  # they still count, in total and in use
    held = counts[1]
    assert counts == (4, 3 if ended == "pending-cancel" else 2)
    # The held ones are in use: only the free ones can be removed.
    remove = lambda quantity: outcome(  # noqa: E731
        lambda: services.seats_remove(org_id="acme", seat_type_id="standard", quantity=quantity, actor=ADMIN)
    )
    assert remove(4 - held + 1) == "seats_in_use"
    assert held_types("sam") == {"standard"}
    assert not Member.objects.filter(external_id="ann", seats__isnull=False).exists()

    # Paid again, its free seats can be given again.
    clock.set_time(at("2026-02-01"))
    pool_subscription("active")
    assert assign("ann") == "seat"


@pytest.mark.django_db
def test_a_free_seat_is_taken_from_a_paid_pool_when_another_pool_is_unpaid():
    acme(standard=1)
    pool_subscription("active")
    services.seats_add(org_id="acme", seat_type_id="standard", quantity=2, subscription_id="900", actor=ADMIN)
    clock.set_time(BASE + timedelta(days=1))
    pool_subscription("cancelled")
    assert assign("sam") == "seat"
    assert Seat.objects.get(holder__external_id="sam").pool.subscription_id is None
    assert assign("sue") == "no_free_seat"
