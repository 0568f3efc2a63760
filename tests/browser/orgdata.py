"""Organizations with people who can log in, built through the real services, for the portal's tests."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from membersync.actors import Actor
from membersync.catalog.models import Course, SeatType
from membersync.catalog.services import course_create, seat_type_create
from membersync.members.services import member_get_or_create
from membersync.orgs.services import org_create, org_member_set, seats_add
from membersync.people.models import Member

PASSWORD = "correct-horse-battery-staple"
SEAT_TYPE = "standard"
COURSE = "safety-101"


@dataclass
class OrgPeople:
    org_id: str
    owner: Member
    manager: Member
    member: Member
    password: str = PASSWORD


def person_with_login(*, external_id: str, email: str, name: str, password: str = PASSWORD) -> Member:
    member = member_get_or_create(external_id=external_id, email=email, name=name)
    first, _, last = name.partition(" ")
    user = get_user_model().objects.create_user(
        username=email, email=email, password=password, first_name=first, last_name=last
    )
    member.user = user
    member.save(update_fields=["user"])
    return member


def catalog_ready() -> None:
    if not Course.objects.filter(external_id=COURSE).exists():
        course_create(external_id=COURSE, title="Workplace Safety 101")
    if not SeatType.objects.filter(external_id=SEAT_TYPE).exists():
        seat_type_create(external_id=SEAT_TYPE, name="Standard", grants=[{"course": COURSE}])


def org_with_people(org_id: str = "acme", *, name: str = "Acme Training", seats: int = 3) -> OrgPeople:
    """An organization with an owner, a manager and a member (all with logins), and `seats` free seats."""
    catalog_ready()
    owner = person_with_login(external_id=f"{org_id}-owner", email=f"owner@{org_id}.test", name="Olive Owner")
    manager = person_with_login(external_id=f"{org_id}-manager", email=f"manager@{org_id}.test", name="Max Manager")
    member = person_with_login(external_id=f"{org_id}-member", email=f"member@{org_id}.test", name="Mia Member")
    org_create(org_id=org_id, name=name, owner_id=owner.external_id, actor=Actor.operator("admin"))
    org_member_set(org_id=org_id, member_id=manager.external_id, role="manager", actor=Actor.operator("admin"))
    org_member_set(org_id=org_id, member_id=member.external_id, role="member", actor=Actor.operator("admin"))
    if seats:
        seats_add(org_id=org_id, seat_type_id=SEAT_TYPE, quantity=seats, actor=Actor.operator("admin"))
    return OrgPeople(org_id=org_id, owner=owner, manager=manager, member=member)


FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # tests only: every person here has a login
