"""A license is only its current holder's (DOMAIN.md, "MemberSync's own rules"; FORMAT.md `licenses: {L1: none}`):
once given to someone else or taken back it is `none` for the previous holder, now and when asked about any moment
since; asked about a moment when she held it, it was hers."""

from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membersync import clock
from membersync.actors import Actor
from membersync.catalog.services import course_create, license_type_create
from membersync.orgs import services
from membersync.orgs.selectors import member_license_statuses
from membersync.people.models import Member

from .conftest import at

BASE = at("2026-01-01T09:00")
ADMIN = Actor.operator("admin")
PEOPLE = ("ann", "bea", "cat")


def status_of(person: str, moment) -> str:
    member = Member.objects.filter(external_id=person).first()
    return member_license_statuses(member, moment).get("L1", "none") if member else "none"


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=st.lists(st.sampled_from([*PEOPLE, None]), min_size=1, max_size=6))
def test_a_license_is_none_for_everyone_but_its_holder_then_and_now(moves):
    """`moves`: who the license is given to, one per day (None: taken back into stock)."""
    with transaction.atomic():
        clock.set_time(BASE)
        course_create(external_id="gdpr")
        license_type_create(external_id="compliance", grants=[{"course": "gdpr"}], length="unlimited")
        services.license_issue(license_id="L1", type_id="compliance", actor=ADMIN)
        holder, history = None, []
        for day, who in enumerate(moves, start=1):
            moment = BASE + timedelta(days=day)
            clock.set_time(moment)
            if who is not None:
                services.license_assign(license_id="L1", member_id=who, actor=ADMIN)
                holder = who
            elif holder is not None:
                services.license_unassign(license_id="L1", actor=ADMIN)
                holder = None
            history.append((moment, holder))
            for person in PEOPLE:
                assert status_of(person, moment) == ("active" if person == holder else "none"), (person, moment)
        # Asked later about each moment, the answer is who held it then.
        for moment, then_holder in history:
            for person in PEOPLE:
                probe = moment + timedelta(hours=1)
                assert status_of(person, probe) == ("active" if person == then_holder else "none"), (person, probe)
        clock.set_time(None)
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_a_revoked_license_stays_revoked_for_its_holder_and_none_for_whoever_held_it_before(set_clock):
    set_clock(BASE)
    course_create(external_id="gdpr")
    license_type_create(external_id="compliance", grants=[{"course": "gdpr"}], length="unlimited")
    services.license_issue(license_id="L1", type_id="compliance", to_member_id="ann", actor=ADMIN)
    set_clock(BASE + timedelta(days=1))
    services.license_assign(license_id="L1", member_id="bea", actor=ADMIN)
    set_clock(BASE + timedelta(days=2))
    services.license_revoke(license_id="L1", actor=ADMIN)
    assert status_of("bea", clock.now()) == "revoked"
    assert status_of("ann", clock.now()) == "none"
    assert status_of("ann", BASE + timedelta(hours=1)) == "active"
