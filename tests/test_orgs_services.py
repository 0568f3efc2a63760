"""Organizations, invitations and licenses through the services: what a person, the portal and the admin see."""

from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.db import connection
from django.test.utils import CaptureQueriesContext

from membersync import clock
from membersync.actors import Actor
from membersync.catalog.services import course_create, license_type_create, seat_type_create
from membersync.errors import ServiceError
from membersync.orgs import services
from membersync.orgs.models import Invitation, License, Seat
from membersync.orgs.selectors import (
    member_license_statuses,
    org_dashboard,
    org_licenses,
    org_people,
    org_role,
    org_seat_counts,
    orgs_for_user,
)
from membersync.people.models import Member
from membersync.sync.explain import explanation_text
from membersync.sync.selectors import member_courses, member_explain
from membersync.sync.worker import worker_tick

from .conftest import at


def courses(member: Member) -> set[str]:
    """What the person can open once the worker has carried out the pending operations."""
    worker_tick(now=clock.now())
    return member_courses(member)


@pytest.fixture
def acme(db, set_clock):
    set_clock(at("2026-01-01"))
    course_create(external_id="safety")
    course_create(external_id="gdpr")
    seat_type_create(external_id="standard", name="Standard", grants=[{"course": "safety"}])
    license_type_create(external_id="compliance", name="Compliance", grants=[{"course": "gdpr"}], length="12 months")
    org = services.org_create(org_id="acme", name="Acme Ltd", owner_id="olivia", actor=Actor.operator("admin")).value
    services.org_member_set(org_id="acme", member_id="mia", role="manager", actor=Actor.operator("admin"))
    services.seats_add(org_id="acme", seat_type_id="standard", quantity=3, actor=Actor.operator("admin"))
    return org


def test_an_invitation_holds_a_seat_and_accepting_it_gives_a_login_and_the_seat(acme, set_clock):
    invitation = services.invitation_create(
        org_id="acme",
        email="Nina@Example.com",
        first_name="Nina",
        hold_seat_type_id="standard",
        actor=Actor.member("mia"),
    ).value
    (use,) = org_dashboard(acme)
    assert (use.total, use.used, use.held, use.free) == (3, 0, 1, 2)
    assert org_seat_counts(acme) == (3, 1)
    assert [i.email for i in org_people(acme).invitations] == ["nina@example.com"]

    set_clock(at("2026-01-03"))
    member = services.invitation_accept(token=invitation.token, password="a long enough passphrase").value

    user = authenticate(username="nina@example.com", password="a long enough passphrase")
    assert user is not None and user.member == member
    assert courses(member) == {"safety"}
    assert org_role(acme, member) == "member"
    assert [(org.external_id, role) for org, role in orgs_for_user(user)] == [("acme", "member")]
    (use,) = org_dashboard(acme)
    assert (use.used, use.held, use.free) == (1, 0, 2)


def test_an_invitation_token_works_once_and_not_after_it_expires(acme, set_clock):
    first = services.invitation_create(org_id="acme", email="a@example.com", actor=Actor.member("mia")).value
    services.invitation_accept(token=first.token, password="a long enough passphrase")
    with pytest.raises(ServiceError) as used:
        services.invitation_accept(token=first.token, password="another long passphrase")
    assert used.value.code == "invitation_used"

    late = services.invitation_create(
        org_id="acme", email="b@example.com", hold_seat_type_id="standard", actor=Actor.member("mia")
    ).value
    set_clock(at("2026-01-01") + services.INVITATION_LIFETIME + timedelta(seconds=1))
    with pytest.raises(ServiceError) as expired:
        services.invitation_accept(token=late.token, password="a long enough passphrase")
    assert expired.value.code == "invitation_expired"
    assert not Member.objects.filter(email="b@example.com").exists()

    with pytest.raises(ServiceError) as unknown:
        services.invitation_accept(token="nonsense", password="a long enough passphrase")
    assert unknown.value.code == "not_found"


def test_bad_invitations_are_refused_and_change_nothing(acme):
    cases = [
        (dict(email="not an email"), "invalid_value"),
        (dict(email="x@example.com", role="boss"), "invalid_value"),
        (dict(email="x@example.com", role="owner"), "forbidden"),  # a manager cannot invite an owner
        (dict(email="x@example.com", hold_seat_type_id="nosuch"), "not_found"),
    ]
    for fields, code in cases:
        with pytest.raises(ServiceError) as refused:
            services.invitation_create(org_id="acme", actor=Actor.member("mia"), **fields)
        assert refused.value.code == code, fields
    assert not Invitation.objects.exists()
    services.invitation_create(org_id="acme", email="x@example.com", actor=Actor.member("mia"))
    with pytest.raises(ServiceError) as twice:
        services.invitation_create(org_id="acme", email="X@example.com", actor=Actor.member("mia"))
    assert twice.value.code == "duplicate_id"


def test_a_weak_password_is_refused_on_accept_and_the_invitation_stays_usable(acme):
    invitation = services.invitation_create(
        org_id="acme", email="c@example.com", hold_seat_type_id="standard", actor=Actor.member("mia")
    ).value
    with pytest.raises(ServiceError) as weak:
        services.invitation_accept(token=invitation.token, password="123")
    assert weak.value.code == "invalid_password"
    invitation.refresh_from_db()
    assert invitation.status == Invitation.PENDING
    assert Seat.objects.filter(invitation=invitation).exists()


def test_cancelling_an_invitation_frees_its_seat(acme):
    invitation = services.invitation_create(
        org_id="acme", email="d@example.com", hold_seat_type_id="standard", actor=Actor.member("mia")
    ).value
    services.invitation_cancel(invitation_id=invitation.pk, actor=Actor.member("mia"))
    assert org_seat_counts(acme) == (3, 0)
    with pytest.raises(ServiceError) as cancelled:
        services.invitation_accept(token=invitation.token, password="a long enough passphrase")
    assert cancelled.value.code == "invitation_cancelled"


def test_ownership_moves_and_the_old_owner_stays_as_manager(acme):
    with pytest.raises(ServiceError) as manager:
        services.org_ownership_transfer(org_id="acme", to_member_id="mia", actor=Actor.member("mia"))
    assert manager.value.code == "forbidden"
    services.org_ownership_transfer(org_id="acme", to_member_id="mia", actor=Actor.member("olivia"))
    roles = {p.member.external_id: p.role for p in org_people(acme).people}
    assert roles == {"olivia": "manager", "mia": "owner"}


def test_bulk_issue_creates_many_licenses_in_a_fixed_number_of_queries(acme):
    with CaptureQueriesContext(connection) as small:
        services.license_issue(
            license_id="S", type_id="compliance", owner_org_id="acme", quantity=2, actor=Actor.operator("admin")
        )
    with CaptureQueriesContext(connection) as large:
        issued = services.license_issue(
            license_id="B", type_id="compliance", owner_org_id="acme", quantity=500, actor=Actor.operator("admin")
        ).value
    assert len(issued) == 500 and issued[0].external_id == "B-1"
    assert License.objects.filter(external_id__startswith="B-", status="available").count() == 500
    # No query per license: only the insert batches the database's parameter limit imposes are added.
    assert len(large.captured_queries) <= len(small.captured_queries) + 10
    assert {status for _, status in org_licenses(acme)} == {"available"}


def test_a_license_expires_its_length_after_assignment(acme, set_clock):
    services.license_issue(license_id="L1", type_id="compliance", owner_org_id="acme", actor=Actor.operator("admin"))
    set_clock(at("2026-02-01"))
    services.license_assign(license_id="L1", member_id="mia", actor=Actor.member("olivia"))
    erin = Member.objects.get(external_id="mia")
    assert member_license_statuses(erin) == {"L1": "active"}
    assert member_license_statuses(erin, at("2027-01-31T23:00")) == {"L1": "active"}
    assert member_license_statuses(erin, at("2027-02-01T01:00")) == {"L1": "expired"}


def test_explain_names_the_organization_seat_and_license(acme, set_clock):
    services.seat_assign(org_id="acme", member_id="sam", actor=Actor.member("mia"))
    services.license_issue(license_id="ORG1", type_id="compliance", to_org_id="acme", actor=Actor.operator("admin"))
    sam = Member.objects.get(external_id="sam")
    assert courses(sam) == {"safety", "gdpr"}
    text = explanation_text(member_explain(member=sam, at=at("2026-01-02")))
    assert "Standard seat in organization Acme Ltd" in text
    assert "license ORG1 (Compliance) of organization Acme Ltd, through a Standard seat" in text


def test_seat_assignment_costs_the_same_whatever_the_organization_size(acme, set_clock):
    services.seats_add(org_id="acme", seat_type_id="standard", quantity=300, actor=Actor.operator("admin"))
    with CaptureQueriesContext(connection) as first:
        services.seat_assign(org_id="acme", member_id="p-0", actor=Actor.member("mia"))
    for index in range(1, 60):
        services.seat_assign(org_id="acme", member_id=f"p-{index}", actor=Actor.member("mia"))
    with CaptureQueriesContext(connection) as later:
        services.seat_assign(org_id="acme", member_id="p-last", actor=Actor.member("mia"))
    assert len(later.captured_queries) == len(first.captured_queries)


def test_portal_reads_use_a_fixed_number_of_queries(acme):
    def reads():
        with CaptureQueriesContext(connection) as queries:
            org_dashboard(acme)
            people = org_people(acme)
            org_licenses(acme)
        return len(queries.captured_queries), people

    few, _ = reads()
    for index in range(20):
        services.seat_assign(
            org_id="acme", member_id=f"q-{index}", actor=Actor.operator("admin")
        ) if index < 3 else None
        services.org_member_set(org_id="acme", member_id=f"r-{index}", role="member", actor=Actor.operator("admin"))
        services.invitation_create(org_id="acme", email=f"i{index}@example.com", actor=Actor.operator("admin"))
    services.license_issue(
        license_id="M", type_id="compliance", owner_org_id="acme", quantity=10, actor=Actor.operator("admin")
    )
    many, people = reads()
    assert len(people.people) > 20 and len(people.invitations) == 20
    assert many == few


def test_an_owner_hands_the_organization_only_to_someone_already_in_it(acme):
    with pytest.raises(ServiceError) as refused:
        services.org_ownership_transfer(org_id="acme", to_member_id="stranger", actor=Actor.member("olivia"))
    assert refused.value.code == "not_found"
    assert not Member.objects.filter(external_id="stranger").exists()
    assert org_role(acme, Member.objects.get(external_id="olivia")) == "owner"
    services.org_ownership_transfer(org_id="acme", to_member_id="mia", actor=Actor.member("olivia"))
    assert org_role(acme, Member.objects.get(external_id="mia")) == "owner"
    assert org_role(acme, Member.objects.get(external_id="olivia")) == "manager"
