"""Reads the portal's pages need on top of membersync.orgs.selectors."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from django.contrib.auth import get_user_model

from membersync import clock
from membersync.catalog.models import Course, Group
from membersync.orgs.models import (
    MANAGER,
    OWNER,
    Invitation,
    License,
    Organization,
    OrgRole,
    Seat,
    invitation_token_hash,
)
from membersync.orgs.selectors import OrgPeople, org_people
from membersync.people.models import Member
from membersync.sync.selectors import target_states

from .charts import Bar


def invitation_by_token(token: str) -> Invitation | None:
    return Invitation.objects.select_related("organization").filter(token_hash=invitation_token_hash(token)).first()


def invitation_problem(invitation: Invitation | None) -> str | None:
    """Why this invitation link cannot be used any more, in words for the person who clicked it."""
    if invitation is None:
        return "This invitation link is not valid. Check that you copied the whole link from the email."
    if invitation.status == Invitation.ACCEPTED:
        return "This invitation was already used. Log in with the password you chose."
    if invitation.status == Invitation.CANCELLED:
        return "This invitation was withdrawn. Ask your organization's manager for a new one."
    if invitation.expires_at <= clock.now():
        return (
            f"This invitation expired on {invitation.expires_at:%d %B %Y}. "
            "Ask your organization's manager to send a new one."
        )
    return None


def login_exists_for(email: str) -> bool:
    """Whether the invited person already signs in (then accepting keeps their password)."""
    if Member.objects.filter(email__iexact=email, user__isnull=False).exists():
        return True
    return get_user_model().objects.filter(username__iexact=email).exists()


def target_titles() -> dict[tuple[str, str], str]:
    titles = {("course", ext): title for ext, title in Course.objects.values_list("external_id", "title")}
    titles |= {("group", ext): title for ext, title in Group.objects.values_list("external_id", "title")}
    return titles


@dataclass
class AccessCell:
    kind: str
    title: str
    status: str  # open | suspended | pending


# A person's access to one course or group is the best state among the grants reaching it.
_RANK = {"open": 0, "suspended": 1, "pending": 2}


def _org_access(org: Organization) -> dict[int, dict[tuple[str, str], str]]:
    """Member pk -> (kind, id) -> open | suspended | pending, from the grant records the reconciler keeps (they
    change in the same transaction as the seat, so the page shows a new seat's courses at once, before the
    worker has written them to the learning site)."""
    access: dict[int, dict[tuple[str, str], str]] = defaultdict(dict)
    people = OrgRole.objects.filter(organization=org).values_list("member_id", flat=True)
    rows = target_states(member_ids=people, states=_RANK)
    for member_pk, kind, target_id, state in rows:
        current = access[member_pk].get((kind, target_id))
        if current is None or _RANK[state] < _RANK[current]:
            access[member_pk][(kind, target_id)] = state
    return access


def people_access(org: Organization) -> dict[int, list[AccessCell]]:
    """Member pk -> the courses and groups they can open (or have suspended, or will open), titled."""
    titles = target_titles()
    return {
        member_pk: sorted(
            (
                AccessCell(kind, titles.get((kind, target_id), target_id), state)
                for (kind, target_id), state in targets.items()
            ),
            key=lambda cell: (_RANK[cell.status], cell.title),
        )
        for member_pk, targets in _org_access(org).items()
    }


def course_access_bars(org: Organization, people: OrgPeople) -> list[Bar]:
    """One bar per course or group anyone in the organization has: how many of its people can open it."""
    headcount = len(people.people)
    titles = target_titles()
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for targets in _org_access(org).values():
        for key, state in targets.items():
            counts[key][state] += 1
    bars = []
    for key, counter in sorted(counts.items(), key=lambda item: (-item[1]["open"], titles.get(item[0], item[0][1]))):
        opened, suspended = counter["open"], counter["suspended"]
        none = max(headcount - opened - suspended, 0)
        summary = f"{opened} of {headcount} can open" + (f", {suspended} suspended" if suspended else "")
        bars.append(Bar(titles.get(key, key[1]), (opened, suspended, none), summary))
    return bars


def people_rows_for_export(org: Organization) -> list[tuple[str, ...]]:
    """(email, first_name, last_name, role, status, seat types, licenses, courses) for the people in the
    organization and its pending invitations: the import reads the first columns, so an export can be edited and
    imported back. Courses are those each person can open now or has suspended, by title."""
    people = {person.member.pk: person for person in org_people(org).people}
    access = people_access(org)
    rows = []
    for member, role in (
        (r.member, r.role)
        for r in OrgRole.objects.filter(organization=org).select_related("member", "member__user").order_by("pk")
    ):
        user = member.user
        first, last = (user.first_name, user.last_name) if user else _split_name(member.name)
        person = people.get(member.pk)
        seats = "; ".join(person.seat_types) if person else ""
        licenses = "; ".join(str(lic) for lic in person.licenses) if person else ""
        courses = "; ".join(
            cell.title + ("" if cell.status == "open" else f" ({cell.status})")
            for cell in access.get(member.pk, [])
            if cell.status != "pending"
        )
        email = member.email or (user.email if user else "")
        rows.append((email, first, last, role, "joined", seats, licenses, courses))
    now = clock.now()
    held_by = dict(
        Seat.objects.filter(organization=org, invitation__isnull=False).values_list("invitation_id", "seat_type__name")
    )
    for invitation in Invitation.objects.filter(organization=org, status=Invitation.PENDING).order_by("pk"):
        status = "invited" if invitation.expires_at > now else "invitation expired"
        held = held_by.get(invitation.pk, "")
        rows.append(
            (invitation.email, invitation.first_name, invitation.last_name, invitation.role, status, held, "", "")
        )
    return rows


def _split_name(name: str) -> tuple[str, str]:
    first, _, last = name.strip().partition(" ")
    return first, last


# ---- what the people page offers ----


def people_matching(people: list, query: str) -> list:
    """The people whose name, email or id contains every word of `query` (case-insensitively), in page order."""
    words = query.lower().split()
    if not words:
        return list(people)

    def text(person) -> str:
        member = person.member
        return f"{member.name} {member.email} {member.external_id}".lower()

    return [person for person in people if all(word in text(person) for word in words)]


@dataclass(frozen=True)
class PersonActions:
    remove: bool
    change_role: bool


def person_actions(*, viewer_id: str, viewer_role: str, person_id: str, person_role: str) -> PersonActions:
    """What the page offers the viewer for one person, following orgs.permissions (which still decides): a
    manager never acts on an owner, and nobody removes themselves or changes their own role from this page (an
    owner hands over the ownership instead, so the organization always keeps one)."""
    if person_id == viewer_id:
        return PersonActions(remove=False, change_role=False)
    allowed = viewer_role == OWNER or (viewer_role == MANAGER and person_role != OWNER)
    return PersonActions(remove=allowed, change_role=allowed)


def person_in_org(org: Organization, member_id: str) -> OrgRole | None:
    return OrgRole.objects.select_related("member").filter(organization=org, member__external_id=member_id).first()


def pending_invitation_in_org(org: Organization, invitation_id: str) -> Invitation | None:
    if not str(invitation_id).isdigit():
        return None
    return Invitation.objects.filter(organization=org, pk=int(invitation_id), status=Invitation.PENDING).first()


def license_in_org(org: Organization, license_id: str) -> License | None:
    return (
        License.objects.select_related("license_type", "member")
        .filter(organization=org, external_id=str(license_id))
        .first()
    )
