"""A seat is never given twice: many people claiming the last seats at the same moment, each on its own
database connection, get exactly as many seats as there are."""

import threading

import pytest
from django.db import connection, connections

from membersync.actors import Actor
from membersync.catalog.services import course_create, seat_type_create
from membersync.errors import ServiceError
from membersync.orgs import services
from membersync.orgs.models import Seat, SeatHolding
from membersync.orgs.selectors import org_seat_counts

from .conftest import at

SEATS = 10
CLAIMANTS = 50


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_assignments_on_ten_free_seats_give_exactly_ten(set_clock):
    set_clock(at("2026-01-01"))
    course_create(external_id="safety")
    seat_type_create(external_id="standard", grants=[{"course": "safety"}])
    org = services.org_create(org_id="acme", owner_id="olivia", actor=Actor.operator("admin")).value
    services.seats_add(org_id="acme", seat_type_id="standard", quantity=SEATS, actor=Actor.operator("admin"))

    start = threading.Barrier(CLAIMANTS)
    outcomes: dict[str, str] = {}
    lock = threading.Lock()

    def claim(index: int) -> None:
        person = f"person-{index}"
        try:
            start.wait()
            services.seat_assign(org_id="acme", member_id=person, actor=Actor.operator("admin"))
            outcome = "seat"
        except ServiceError as error:
            outcome = error.code
        except Exception as error:  # noqa: BLE001  (reported by the assertion below, with its type)
            outcome = f"crash: {type(error).__name__}: {error}"
        finally:
            connections.close_all()
        with lock:
            outcomes[person] = outcome

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(CLAIMANTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(outcomes) == CLAIMANTS
    codes = sorted(set(outcomes.values()))
    assert codes == ["no_free_seat", "seat"], codes
    winners = {p for p, o in outcomes.items() if o == "seat"}
    assert len(winners) == SEATS
    holders = set(Seat.objects.filter(holder__isnull=False).values_list("holder__external_id", flat=True))
    assert holders == winners
    assert SeatHolding.objects.filter(end__isnull=True).count() == SEATS
    assert org_seat_counts(org) == (SEATS, SEATS)
    assert connection.vendor in ("sqlite", "postgresql")
