"""`membersync crm pull NAME`: reload a CRM's tags in bulk (WP Fusion's "Resync tags"), for a CRM that never tells.

The contacts are read first, outside every transaction: FluentCRM's contact list carries each contact's tags (one
pass reads them all); ActiveCampaign's does not, so its contacts are loaded tag by tag, for the tags that matter
(the known tags, every tag a setting names, the tags applied as sources, the tags MemberSync mirrors there). Then
each member whose tags differ from MemberSync's mirror of the CRM is recorded with her whole set of tags
(services.crm_tags_observe: echoes recognised, gained tags become sources, lost ones end theirs), and her
auto-enrollments follow in that event's reconcile. A contact MemberSync does not know becomes a member only when
she holds a tag that grants something (a linked or leader tag); other contacts are left alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from membersync.access.tags import TAG
from membersync.actors import Actor
from membersync.clients.crm import Contact, CrmAuthError, CrmError
from membersync.errors import ServiceError
from membersync.people.models import CONTACT, Connection, Identity, Member
from membersync.people.services import connection_failure_record, connection_success_record, member_for_identity
from membersync.sync.models import MirrorEntry

from . import services
from .models import MemberTag, Tag
from .remote import crm_client
from .selectors import CRM_KINDS, CRM_NAMES, crm_sink_name, tag_rules

Progress = Callable[[int, int], None]


@dataclass
class PullReport:
    crm: str
    contacts: int = 0  # contacts read from the CRM
    compared: int = 0  # members (and tag-holding contacts) compared with the mirror
    changed: int = 0  # members whose tags differed: recorded (or, in a dry run, would be)
    gained: int = 0  # tags the CRM applied itself: sources now
    removed: int = 0  # tags the CRM no longer holds
    echoes: int = 0  # tags MemberSync had applied, seen coming back
    created: int = 0  # members made for contacts holding a linked tag
    skipped: int = 0  # contacts MemberSync does not know holding no tag that grants anything
    calls: int = 0  # HTTP requests made to the CRM
    failed: list[str] = field(default_factory=list)


def crm_connection_named(name: str) -> Connection:
    connection = Connection.objects.filter(kind__in=CRM_KINDS, name=name).first()
    if connection is None:
        known = ", ".join(Connection.objects.filter(kind__in=CRM_KINDS).values_list("name", flat=True)) or "none"
        raise ServiceError("not_found", f"no CRM connection named {name!r} (CRM connections: {known})", field="name")
    if not connection.has_credentials:
        raise ServiceError("invalid_value", f"{name} has no credentials: connect it again", field="name")
    return connection


def _tags_that_matter(connection: Connection) -> set[str]:
    rules = tag_rules()
    found = set(Tag.objects.values_list("name", flat=True))
    for settings in rules.settings.values():
        found.update(t for t in (settings.link_tag, settings.leader_tag, *settings.tags_on_enrollment) if t)
    found.update(MemberTag.objects.filter(connection=connection, removed_at__isnull=True).values_list("tag", flat=True))
    found.update(
        MirrorEntry.objects.filter(sink=crm_sink_name(connection), target_kind=TAG)
        .values_list("target_id", flat=True)
        .distinct()
    )
    return found


def _contacts_read(connection: Connection, report: PullReport) -> tuple[dict[str, Contact], set[str] | None]:
    """(contact id -> the contact with its tags, the tags read: None when every tag was)."""
    client = crm_client(connection, timeout=30.0)
    try:
        if client.capabilities.lists_tags:
            contacts, scope = {c.id: c for c in client.contacts_all()}, None
        else:
            contacts, scope = {}, _tags_that_matter(connection)
            for tag in sorted(scope):
                for contact in client.contacts_with_tag(tag):
                    contacts.setdefault(contact.id, Contact(contact.id, contact.email)).tags.add(tag)
        connection_success_record(connection=connection)
    except CrmAuthError as error:
        connection_failure_record(connection=connection, error=f"credentials refused: {error}")
        raise ServiceError("invalid_value", f"{connection.name} refused the credentials: {error}") from None
    except CrmError as error:
        connection_failure_record(connection=connection, error=str(error))
        raise ServiceError("invalid_value", f"{connection.name} could not be read: {error}") from None
    finally:
        report.calls += client.calls
        client.close()
    return contacts, scope


def crm_pull(
    *, connection: Connection, actor: Actor, dry_run: bool = False, progress: Progress | None = None
) -> PullReport:
    """Read the CRM's contacts and tags, then record every member whose tags differ from the mirror."""
    report = PullReport(crm=connection.name)
    contacts, scope = _contacts_read(connection, report)
    report.contacts = len(contacts)
    sink = crm_sink_name(connection)
    held: dict[int, set[str]] = defaultdict(set)
    for member_id, tag in MirrorEntry.objects.filter(sink=sink, target_kind=TAG).values_list("member_id", "target_id"):
        held[member_id].add(tag)
    known = dict(Identity.objects.filter(connection=connection, kind=CONTACT).values_list("external_id", "member_id"))
    rules = tag_rules()
    granting = {t for s in rules.settings.values() for t in (s.link_tag, s.leader_tag) if t}
    todo = sorted(set(known) | set(contacts))
    total = len(todo)
    for done, contact_id in enumerate(todo, 1):
        contact = contacts.get(contact_id)
        seen = contact.tags if contact is not None else set()
        member_id = known.get(contact_id)
        if member_id is None:
            if not seen & granting:
                report.skipped += 1
                _tick(progress, done, total)
                continue
            report.created += 1
            if dry_run:
                report.compared += 1
                report.changed += 1
                report.gained += len(seen)
                _tick(progress, done, total)
                continue
            member_id = _member_for_contact(connection, contact, report)
            if member_id is None:
                _tick(progress, done, total)
                continue
        report.compared += 1
        mirror = held.get(member_id, set())
        whole = set(seen) if scope is None else (mirror - scope) | seen
        if whole != mirror:
            report.changed += 1
            if dry_run:
                report.gained += len(whole - mirror)
                report.removed += len(mirror - whole)
            else:
                _observe(connection, member_id, whole, actor, report)
        _tick(progress, done, total)
    if progress is not None and not total:
        progress(0, 0)
    return report


def _tick(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None and (done == total or done % 100 == 0):
        progress(done, total)


def _member_for_contact(connection: Connection, contact: Contact, report: PullReport) -> int | None:
    try:
        found = member_for_identity(connection=connection, kind=CONTACT, external_id=contact.id, email=contact.email)
    except ServiceError as error:
        report.failed.append(f"contact {contact.id}: {error.message}")
        return None
    return found.member.pk


def _observe(connection: Connection, member_id: int, whole: set[str], actor: Actor, report: PullReport) -> None:
    member = Member.objects.get(pk=member_id)
    try:
        result = services.crm_tags_observe(
            member=member, tags=sorted(whole), actor=actor, source="cli", connection=connection
        )
    except ServiceError as error:
        report.failed.append(f"{member}: {error.message}")
        return
    said = result.value or {}
    report.gained += len(said.get("applied", ()))
    report.removed += len(said.get("removed", ()))
    report.echoes += len(said.get("echoes", ()))


def crm_label_of(connection: Connection) -> str:
    return f"{CRM_NAMES.get(connection.kind, 'CRM')} {connection.name}"
