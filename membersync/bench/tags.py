"""The CRM tags batch benchmark: `membersync batch course-tags` over a site of N members whose CRMs are in step,
after one course gains an enrollment tag, so that 1 % of the members need a change.

Measured in one run: the decision over every member, for the built-in CRM and a connected FluentCRM (dry run: no
write, no call); carrying it out (operations queued, then sent by the sink's own code over HTTP to the FluentCRM
contract fixture, which counts the requests); the same batch again (nothing to do); then an ActiveCampaign
account (its contract fixture, 5 requests a second) where 50 members differ. WP Fusion's batch, for comparison,
makes one queue item per user and sleeps 2 s after each: about 1,800 users an hour at best.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from membersync import clock
from membersync.access.tags import TAG, TAG_EPOCH
from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.people.models import ACTIVECAMPAIGN, CONTACT, FLUENTCRM, Identity, Member
from membersync.people.services import connection_create
from membersync.sync.bulk import rows_insert
from membersync.sync.models import Enrollment, MirrorEntry
from membersync.tags.batch import COURSE_TAGS, tags_batch_run
from membersync.tags.services import tag_settings_set

from .site import NOW

COURSES = 10  # every member is in one of these; a third of them in a second one too
NEW = "c-new"  # the course 1 % of the members are in, which gains an enrollment tag
AC_DIFFERENCES = 50  # ActiveCampaign allows 5 requests a second: 50 differences take about 10 s
BENCH = Actor.system("bench")
ROOT = Path(__file__).resolve().parents[2]
SEGMENTS = "/wp-json/fluent-crm/v2/subscribers/sync-segments"


def _fixtures():
    if not (ROOT / "tests" / "contract" / "fluentcrm.py").exists():
        raise RuntimeError(
            f"the CRM contract fixtures are not here ({ROOT / 'tests' / 'contract'}): run from a checkout"
        )
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.contract.activecampaign import ActiveCampaignAccount
    from tests.contract.fluentcrm import FluentCrmSite

    return FluentCrmSite, ActiveCampaignAccount


def _timed(work: Callable[[], object]) -> tuple[float, object]:
    began = time.perf_counter()  # a benchmark's stopwatch, not the product's clock
    result = work()
    return time.perf_counter() - began, result


def _courses_of(index: int) -> list[str]:
    courses = [f"c{index % COURSES}"]
    if index % 3 == 0:
        courses.append(f"c{(index + 1) % COURSES}")
    if index % 100 == 0:
        courses.append(NEW)
    return courses


def _tags_of(courses: list[str], *, started: bool) -> set[str]:
    tags = {f"{c}-linked" for c in courses} | {"student"}
    if started and NEW in courses:
        tags.add(f"{NEW}-started")
    return tags


def _site(members: int) -> list[int]:
    """Members, their enrollments, and the built-in CRM's mirror in step with the settings before the change."""
    for i in [*range(COURSES), NEW]:
        course = f"c{i}" if isinstance(i, int) else i
        catalog.course_create(external_id=course)
        tag_settings_set(
            target_kind="course",
            target_id=course,
            link_tag=f"{course}-linked",
            tags_on_enrollment=["student"],
            actor=BENCH,
        )
    with transaction.atomic():
        rows_insert(
            Member,
            ["external_id", "email", "email_normalized", "name", "created_at"],
            ((f"m{i}", f"m{i}@bench.example", f"m{i}@bench.example", "", NOW) for i in range(members)),
        )
        ids = list(Member.objects.order_by("pk").values_list("pk", flat=True))
        columns = ["member_id", "target_kind", "target_id", "status", "access_from", "suspended_since", "updated_at"]
        rows_insert(
            Enrollment,
            columns,
            ((pk, "course", c, "active", NOW, None, NOW) for i, pk in enumerate(ids) for c in _courses_of(i)),
        )
        _mirror("crm", ids, started=lambda i: False)
    return ids


def _mirror(sink: str, ids: list[int], *, started: Callable[[int], bool]) -> None:
    columns = [
        "sink",
        "member_id",
        "target_kind",
        "target_id",
        "status",
        "access_from",
        "suspended_since",
        "updated_at",
    ]
    rows_insert(
        MirrorEntry,
        columns,
        (
            (sink, pk, TAG, tag, "active", TAG_EPOCH, None, NOW)
            for i, pk in enumerate(ids)
            for tag in sorted(_tags_of(_courses_of(i), started=started(i)))
        ),
    )


def _identities(crm, ids: list[int], contact_ids: list[str]) -> None:
    rows_insert(
        Identity,
        ["connection_id", "kind", "external_id", "member_id", "email", "created_at"],
        ((crm.pk, CONTACT, contact_ids[i], pk, f"m{i}@bench.example", NOW) for i, pk in enumerate(ids)),
    )


def bench_tags(*, members: int, out: Callable[[str], None]) -> dict:
    FluentCrmSite, ActiveCampaignAccount = _fixtures()
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    clock.set_time(NOW)
    results: dict = {"members": members, "database": connection.vendor}
    with FluentCrmSite() as fluent, ActiveCampaignAccount() as account:
        seconds, ids = _timed(lambda: _site(members))
        # FluentCRM: every member a subscriber holding her tags, MemberSync's mirror and identities in step.
        with fluent.lock:
            slugs = {}
            for i, pk in enumerate(ids):
                tags = _tags_of(_courses_of(i), started=False)
                for tag in tags:
                    slugs.setdefault(tag, fluent._tag(tag))
                fluent.subscribers[pk] = {
                    "id": pk,
                    "email": f"m{i}@bench.example",
                    "tags": {slugs[t] for t in tags},
                    "custom": {},
                }
            fluent._tag(f"{NEW}-started")
        fc = connection_create(
            kind=FLUENTCRM,
            name="bench-fc",
            url=fluent.url,
            credentials={"user": fluent.user, "app_password": fluent.app_password},
        )
        with transaction.atomic():
            _identities(fc, ids, [str(pk) for pk in ids])
            _mirror("crm:bench-fc", ids, started=lambda i: False)
        out(
            f"site: {members:,} members, {Enrollment.objects.count():,} enrollments, two CRMs in step ({seconds:.1f} s)"
        )

        # The change: course c-new gains an enrollment tag; 1 % of the members are in it.
        tag_settings_set(
            target_kind="course",
            target_id=NEW,
            link_tag=f"{NEW}-linked",
            tags_on_enrollment=["student", f"{NEW}-started"],
            actor=BENCH,
        )
        wanted = sum(1 for i in range(members) if i % 100 == 0)
        decide_s, dry = _timed(lambda: tags_batch_run(which=COURSE_TAGS, dry_run=True))
        per_crm = {label: len(d.differences) for label, d in dry.decisions}
        out(
            f"decide: {decide_s:.2f} s for {members:,} members in 2 CRMs "
            f"({2 * members / decide_s:,.0f} member-decisions/s); "
            f"differences {per_crm} (expected {wanted:,} each)"
        )
        before = len(fluent.requests)
        run_s, run = _timed(lambda: tags_batch_run(which=COURSE_TAGS))
        calls = len(fluent.requests) - before
        bulk = fluent.count("POST", SEGMENTS)
        applied = sum(1 for pk in ids[::100] if slugs_have(fluent, pk, f"{NEW}-started"))
        out(
            f"carry out: {run_s:.2f} s; {run.done:,} operations; FluentCRM requests: {calls} "
            f"({bulk} sync-segments) for {wanted:,} differences; {applied:,} contacts now hold the new tag"
        )
        before = len(fluent.requests)
        again_s, again = _timed(lambda: tags_batch_run(which=COURSE_TAGS))
        again_calls = len(fluent.requests) - before
        left = sum(len(d.differences) for _, d in again.decisions)
        out(f"the same batch again: {again_s:.2f} s, {left} differences, {again_calls} requests")

        # ActiveCampaign: contacts in step with the new settings, except AC_DIFFERENCES members of c-new.
        late = set(ids[: AC_DIFFERENCES * 100 : 100])
        contact_ids = []
        with account.lock:
            tag_ids = {}
            for i, pk in enumerate(ids):
                contact_id = account._id()
                contact_ids.append(contact_id)
                account.contacts[contact_id] = {"id": contact_id, "email": f"m{i}@bench.example", "fieldValues": {}}
                for tag in _tags_of(_courses_of(i), started=pk not in late):
                    tag_ids.setdefault(tag, account._tag(tag))
                    account.contact_tags[account._id()] = (contact_id, tag_ids[tag])
        ac = connection_create(
            kind=ACTIVECAMPAIGN, name="bench-ac", url=account.url, credentials={"api_token": account.token}
        )
        with transaction.atomic():
            _identities(ac, ids, contact_ids)
            _mirror("crm:bench-ac", ids, started=lambda i: ids[i] not in late)
        before = len(account.requests)
        ac_s, ac_run = _timed(lambda: tags_batch_run(which=COURSE_TAGS, crm="bench-ac"))
        ac_calls = len(account.requests) - before
        ac_diff = sum(len(d.differences) for _, d in ac_run.decisions)
        out(
            f"ActiveCampaign: {ac_s:.2f} s for {members:,} members, {ac_diff} differences, {ac_calls} requests "
            f"(at most {account.most_in_window(1.0)} within any second; 429s: "
            f"{sum(1 for *_r, status in account.requests if status == 429)})"
        )
    wpf_hours = members / 1800
    out(f"WP Fusion's batch for {members:,} users: about {wpf_hours:,.1f} hours (one user per 2 s, ~1,800 an hour)")
    clock.set_time(None)
    results.update(
        decide_seconds=decide_s,
        differences=per_crm,
        carry_out_seconds=run_s,
        fluentcrm_requests=calls,
        fluentcrm_bulk_requests=bulk,
        again_differences=left,
        again_requests=again_calls,
        activecampaign_seconds=ac_s,
        activecampaign_differences=ac_diff,
        activecampaign_requests=ac_calls,
        activecampaign_most_per_second=account.most_in_window(1.0),
        wp_fusion_hours=wpf_hours,
        fluentcrm_requests_per_difference=calls / max(1, wanted),
        activecampaign_requests_per_difference=ac_calls / max(1, ac_diff),
        bulk_chunks_expected=math.ceil(wanted / 100),
    )
    return results


def slugs_have(fluent, sub_id: int, slug: str) -> bool:
    return slug in fluent.tags_of(sub_id)
