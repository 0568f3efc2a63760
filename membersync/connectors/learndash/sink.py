"""A LearnDash site as a sink: each leased operation's wanted state made true on the site over its REST API.

For each operation (one member), what the mirror says the site holds is compared with what is wanted, and only
the difference is sent: per member one POST and one DELETE of `course_ids`, one of `group_ids`, one call per
group led, and, with the companion plugin, one call to its access route. Members are carried concurrently, up to
the connection's `in_flight` (default 4), at most `rate` requests a second (default 10) from this process.

Rules (docs/decisions/0016-learndash-sink.md):
- "already enrolled" and "not enrolled" mean the site holds what was asked: done. An invalid id or an open
  course is a permanent error naming the course; other items of the same member still count.
- Without the companion a suspension unenrolls (LearnDash has no suspended state) and a resumption enrolls again,
  which restarts LearnDash's drip for that student. With it, the companion suspends and resumes, and a first
  enrollment, a resumption or a moved start writes the operation's access_from (LearnDash's own enroll call
  would start the drip at the moment of the call): one more request per member whose courses start.
- The site's credentials refused: every operation of the batch waits (hold), the connection shows the error.
  429/5xx/timeouts: retried after the site's Retry-After, if it gave one.
- `holds` is what the site holds after the calls, partial success included, shaped like Operation.wanted.

HTTP never runs inside a database transaction: the database is read first (mirror, targets, identities), the
calls run in threads that touch no database, then new WordPress users and the connection's health are written
in short transactions of their own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction

from membersync import clock
from membersync.clients.learndash import (
    ItemResult,
    LearnDashClient,
    SiteAuthError,
    SiteError,
    SiteRefused,
    SiteUnavailable,
    limiter_for,
)
from membersync.people.models import WP_USER, Connection, Identity, Member
from membersync.sync.mirror import mirror_read
from membersync.sync.sinks import Operation, Outcome, Sink

from .models import COURSE, GROUP, GROUP_LEADER, SiteTarget
from .selectors import site_targets
from .sinks import sink_name

log = logging.getLogger(__name__)

ACTIVE, SUSPENDED = "active", "suspended"
# The most calls one member can take, one after the other: find and create her user, courses added and removed,
# groups added and removed, the companion's route twice (a resumption of someone the site had unenrolled: enroll,
# then write access_from). Leaderships add one per group led.
CALLS_PER_OPERATION = 8
DEFAULT_IN_FLIGHT = 4
# Members carried one after the other by each of the in-flight slots in one batch: a larger batch makes fewer
# outbox passes but a longer lease, which a killed worker's operations wait out before another worker takes them.
ROUNDS = 2
DEFAULT_RATE = 10.0

Key = tuple[str, str]  # (target kind, catalog target id)


def learndash_sink(connection: Connection, *, transport=None) -> Sink:
    """The sink of one LearnDash connection. A batch is `ROUNDS` times the members it carries at once; its lease
    is twice the longest such a batch can take if every call runs into the timeout (sync/checks.py), and never
    shorter than the outbox's."""
    targets = site_targets(connection=connection)
    options = connection.settings or {}
    in_flight = max(1, int(options.get("in_flight", DEFAULT_IN_FLIGHT)))
    rate = float(options.get("rate", DEFAULT_RATE))
    calls = ROUNDS * in_flight * CALLS_PER_OPERATION
    longest = ROUNDS * CALLS_PER_OPERATION * settings.SINK_HTTP_TIMEOUT_SECONDS + calls / rate  # + the rate's waits
    return Sink(
        name=sink_name(connection),
        apply=lambda operations, now: sink_apply(connection, operations, now, transport=transport),
        transactional=False,
        batch_limit=ROUNDS * in_flight,
        concurrency=in_flight,
        lease_seconds=max(settings.OUTBOX_LEASE_SECONDS, 2 * longest),
        calls_per_operation=CALLS_PER_OPERATION,
        accepts=lambda kind, target_id: (kind, target_id) in targets,
        shadow=bool(options.get("shadow", False)),
        brake=bool(options.get("brake", True)),
        suspension_note=""
        if options.get("has_companion")
        else (
            f"On LearnDash site {connection.name} (no companion plugin), a suspension unenrolls her and a resumption "
            "enrolls her again: LearnDash restarts her lesson drip and course expiry there from the re-enrollment, "
            "not from the enrollment start above. Install the companion plugin to keep her place."
        ),
        brake_students=int(options.get("brake_students", 50)),
        brake_percent=float(options.get("brake_percent", 5.0)),
    )


# -- planning: what to send for one member ------------------------------------------------------------------------


@dataclass
class Plan:
    """What one member needs on the site. Ids are the site's post ids; `keys` maps (kind, remote id) back."""

    member_id: int
    courses_add: list[int] = field(default_factory=list)
    courses_remove: list[int] = field(default_factory=list)
    groups_add: list[int] = field(default_factory=list)
    groups_remove: list[int] = field(default_factory=list)
    leads_add: list[int] = field(default_factory=list)
    leads_remove: list[int] = field(default_factory=list)
    companion: list[dict] = field(default_factory=list)  # the companion's items
    keys: dict[tuple[str, int], Key] = field(default_factory=dict)
    pending: set[Key] = field(default_factory=set)  # keys something is sent for
    refused: dict[Key, str] = field(default_factory=dict)  # known permanent problems, never sent

    @property
    def sends(self) -> bool:
        return any(
            (
                self.courses_add,
                self.courses_remove,
                self.groups_add,
                self.groups_remove,
                self.leads_add,
                self.leads_remove,
                self.companion,
            )
        )


def plan_member(
    *, member_id: int, wanted: list[dict], held: dict[Key, dict], targets: dict[Key, SiteTarget], companion: bool
) -> Plan:
    """The calls that make the site hold `wanted`, given that it holds `held` (the mirror)."""
    plan = Plan(member_id)
    want = {(row["target_kind"], row["target_id"]): row for row in wanted}
    for key in sorted(set(want) | set(held)):
        kind, target_id = key
        target = targets.get(key)
        if target is None:
            if key in want:
                plan.refused[key] = (
                    f"{_kind_label(kind)} {target_id!r} is not linked to a {_kind_label(kind)} of this site"
                )
            continue
        plan.keys[(kind, target.remote_id)] = key
        plan.pending.add(key)  # removed again below when nothing is sent for it
        now_active = held.get(key, {}).get("status") == ACTIVE
        was_held = key in held
        status = want[key]["status"] if key in want else None
        if kind == GROUP_LEADER:  # leaders have no suspended state on LearnDash, with or without the companion
            if status == ACTIVE and not now_active:
                plan.leads_add.append(target.remote_id)
            elif status != ACTIVE and now_active:
                plan.leads_remove.append(target.remote_id)
            else:
                plan.pending.discard(key)
            continue
        add, remove = (
            (plan.courses_add, plan.courses_remove) if kind == COURSE else (plan.groups_add, plan.groups_remove)
        )
        if status == ACTIVE and not now_active and kind == COURSE and target.is_open:
            plan.pending.discard(key)
            plan.refused[key] = (
                f"course {target_id!r} (LearnDash course {target.remote_id}, {target.title!r}) is open on the site: "
                "LearnDash refuses to enroll anyone into an open course; make it closed there, or unlink it"
            )
            continue
        if companion:
            if status is None and was_held:
                remove.append(target.remote_id)
            elif status == ACTIVE and was_held and not now_active:
                plan.companion.append(_companion_item(kind, target.remote_id, want[key]))
            elif status == ACTIVE and not was_held:
                add.append(target.remote_id)
                if kind == COURSE:  # LearnDash starts the drip at the moment of the call; set the start kept here
                    plan.companion.append(_companion_item(kind, target.remote_id, want[key]))
            elif status == ACTIVE and kind == COURSE and _moved(held[key], want[key]):
                plan.companion.append(_companion_item(kind, target.remote_id, want[key]))  # her start moved
            elif status == SUSPENDED and now_active:
                plan.companion.append(_companion_item(kind, target.remote_id, want[key]))
            else:
                plan.pending.discard(key)
        else:
            if status == ACTIVE and not now_active:
                add.append(target.remote_id)
            elif status != ACTIVE and now_active:
                remove.append(target.remote_id)
            else:
                plan.pending.discard(key)
    return plan


def _moved(held: dict, wanted: dict) -> bool:
    return datetime.fromisoformat(held["access_from"]) != datetime.fromisoformat(wanted["access_from"])


def _companion_item(kind: str, remote_id: int, row: dict) -> dict:
    access_from = None
    if row["status"] == ACTIVE and kind == COURSE:  # LearnDash keeps no drip clock per group member
        access_from = int(datetime.fromisoformat(row["access_from"]).timestamp())
    return {"kind": kind, "id": remote_id, "status": row["status"], "access_from": access_from}


def _kind_label(kind: str) -> str:
    return {COURSE: "course", GROUP: "group", GROUP_LEADER: "group"}.get(kind, kind)


# -- carrying: the calls for one member, in a thread that touches no database -----------------------------------


@dataclass
class Carried:
    """What the site answered for one member."""

    user_id: int | None = None
    results: dict[tuple[str, int], ItemResult] = field(default_factory=dict)  # (kind, remote id) -> result
    auth: str = ""  # the credentials were refused
    unavailable: str = ""
    retry_after: float | None = None
    refused: str = ""  # the whole request refused for this member (permanent unless `stale_user`)
    stale_user: bool = False  # the site no longer has her user: find or create it again next time


def _carry(client: LearnDashClient, plan: Plan, user_id: int, stop: Callable[[], bool]) -> Carried:
    carried = Carried(user_id=user_id)
    calls: list[tuple[str, Callable[[], list[ItemResult]]]] = []
    if plan.courses_remove:
        calls.append((COURSE, lambda: client.user_courses_remove(user_id, plan.courses_remove)))
    if plan.courses_add:
        calls.append((COURSE, lambda: client.user_courses_add(user_id, plan.courses_add)))
    if plan.groups_remove:
        calls.append((GROUP, lambda: client.user_groups_remove(user_id, plan.groups_remove)))
    if plan.groups_add:
        calls.append((GROUP, lambda: client.user_groups_add(user_id, plan.groups_add)))
    for group in plan.leads_remove:
        calls.append((GROUP_LEADER, lambda g=group: _as_group(g, client.group_leaders_remove(g, [user_id]))))
    for group in plan.leads_add:
        calls.append((GROUP_LEADER, lambda g=group: _as_group(g, client.group_leaders_add(g, [user_id]))))
    try:
        for kind, call in calls:
            if stop():
                carried.auth = "not sent: the site refused the credentials for another member of this batch"
                return carried
            for result in call():
                carried.results[(kind, result.id)] = result
        if plan.companion and not stop():
            _carry_companion(client, plan, user_id, carried)
    except SiteAuthError as error:
        carried.auth = str(error)
    except SiteUnavailable as error:
        carried.unavailable, carried.retry_after = str(error), error.retry_after
    except SiteRefused as error:
        carried.refused = str(error)
        carried.stale_user = error.code == "learndash_rest_invalid_user_id"
    except SiteError as error:  # 404 (a route or group gone), a redirect, an answer that is not JSON
        carried.refused = str(error)
    return carried


def _carry_companion(client: LearnDashClient, plan: Plan, user_id: int, carried: Carried) -> None:
    results = client.companion_access(user_id, plan.companion)
    again = []
    for item, result in zip(plan.companion, results, strict=False):
        if result.code == "membersync_not_enrolled" and item["status"] == ACTIVE:
            again.append(item)  # the site unenrolled her meanwhile: enroll, then write access_from
        else:
            carried.results[(item["kind"], item["id"])] = result
    if not again:
        return
    courses = [i["id"] for i in again if i["kind"] == COURSE]
    groups = [i["id"] for i in again if i["kind"] == GROUP]
    added = (client.user_courses_add(user_id, courses) if courses else []) + (
        client.user_groups_add(user_id, groups) if groups else []
    )
    failed = {r.id: r for r in added if not r.ok}
    for item in again:
        if item["id"] in failed:
            carried.results[(item["kind"], item["id"])] = failed[item["id"]]
    retry = [i for i in again if i["id"] not in failed]
    for item, result in zip(retry, client.companion_access(user_id, retry) if retry else [], strict=False):
        carried.results[(item["kind"], item["id"])] = result


def _as_group(group: int, results: list[ItemResult]) -> list[ItemResult]:
    """Leaders are answered per user; the sink keys them by the group."""
    return [ItemResult(group, r.ok, r.permanent, r.code, r.message) for r in results]


# -- WordPress users ---------------------------------------------------------------------------------------------


@dataclass
class Found:
    user_id: int | None = None
    email: str = ""
    error: str = ""
    permanent: bool = False
    auth: bool = False
    retry_after: float | None = None


def _find_or_create(client: LearnDashClient, member: Member, stop: Callable[[], bool]) -> Found:
    email = (member.email or "").strip()
    if not email:
        return Found(error=f"member {member} has no email: no WordPress user can be found or made", permanent=True)
    if stop():
        return Found(error="not sent: the site refused the credentials", auth=True)
    try:
        user = client.user_find_by_email(email)
        if user is None:
            first, _, last = (member.name or "").partition(" ")
            try:
                user = client.user_create(email=email, username=email, first_name=first, last_name=last)
            except SiteRefused as error:
                if error.code == "existing_user_email":  # made meanwhile (another worker, the site's own sign-up)
                    user = client.user_find_by_email(email)
                elif error.code == "existing_user_login":
                    username = f"{email.partition('@')[0]}.ms{member.pk}"
                    user = client.user_create(email=email, username=username, first_name=first, last_name=last)
                else:
                    raise
        if not user or not user.get("id"):
            return Found(error=f"the site made no WordPress user for {email}")
        return Found(user_id=int(user["id"]), email=email)
    except SiteAuthError as error:
        return Found(error=str(error), auth=True)
    except SiteUnavailable as error:
        return Found(error=str(error), retry_after=error.retry_after)
    except SiteRefused as error:
        return Found(error=f"the site refused a WordPress user for {email}: {error}", permanent=True)
    except SiteError as error:
        return Found(error=str(error))


# -- the sink's apply ------------------------------------------------------------------------------------------


def sink_apply(
    connection: Connection, operations: list[Operation], now: datetime, *, transport=None
) -> dict[int, Outcome]:
    """Make the site hold each operation's wanted state; one Outcome per operation (by pk)."""
    name = sink_name(connection)
    options = connection.settings or {}
    companion = bool(options.get("has_companion"))
    targets = site_targets(connection=connection)
    member_ids = [op.member_id for op in operations]
    mirror = {
        mid: {key: _row(key, state) for key, state in held.items()}
        for mid, held in mirror_read(sink=name, member_ids=member_ids).items()
    }
    members = Member.objects.in_bulk(member_ids)
    users = dict(
        Identity.objects.filter(connection=connection, kind=WP_USER, member_id__in=member_ids).values_list(
            "member_id", "external_id"
        )
    )
    plans = {
        op.pk: plan_member(
            member_id=op.member_id,
            wanted=op.wanted,
            held=mirror.get(op.member_id, {}),
            targets=targets,
            companion=companion,
        )
        for op in operations
    }
    outcomes: dict[int, Outcome] = {}
    refused_credentials: list[str] = []
    stale: list[int] = []
    credentials = connection.credentials
    in_flight = max(1, int(options.get("in_flight", DEFAULT_IN_FLIGHT)))
    limiter = limiter_for(connection.name, rate=float(options.get("rate", DEFAULT_RATE)), in_flight=in_flight)
    client = LearnDashClient(
        connection.url,
        credentials.get("user", ""),
        credentials.get("app_password", ""),
        timeout=settings.SINK_HTTP_TIMEOUT_SECONDS,
        bases=options.get("bases") or None,
        transport=transport,
        limiter=limiter,
    )
    stop = refused_credentials.__len__  # truthy once any thread saw the credentials refused
    try:
        with ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix=f"ld-{connection.name}") as pool:
            needing = [op for op in operations if plans[op.pk].sends and op.member_id not in users]
            found = list(pool.map(lambda op: _find_or_create(client, members[op.member_id], stop), needing))
            refused_credentials.extend(result.error for result in found if result.auth)
            users.update(
                _identities_record(
                    connection, {op.member_id: f for op, f in zip(needing, found, strict=True) if f.user_id}
                )
            )
            for op, result in zip(needing, found, strict=True):
                if result.user_id is None or op.member_id not in users:
                    taken = result.user_id is not None  # the user is already another member's identity
                    error = result.error or (
                        f"WordPress user {result.user_id} ({result.email}) is already linked to another member: "
                        "merge the two members, or change the email on the site"
                    )
                    outcomes[op.pk] = Outcome(
                        holds=None,
                        error=f"credentials refused: {error}" if result.auth else error,
                        retry=not (result.permanent or taken),
                        retry_after=result.retry_after,
                        hold=result.auth,
                    )
            ready = [op for op in operations if op.pk not in outcomes and plans[op.pk].sends]

            def carry(op: Operation) -> Carried:
                carried = _carry(client, plans[op.pk], int(users[op.member_id]), stop)
                if carried.auth:
                    refused_credentials.append(carried.auth)
                return carried

            for op, carried in zip(ready, pool.map(carry, ready), strict=True):
                outcomes[op.pk] = _outcome(op, plans[op.pk], mirror.get(op.member_id, {}), carried)
                if carried.stale_user:
                    stale.append(op.member_id)
    finally:
        client.close()
    for op in operations:
        if op.pk not in outcomes:  # nothing to send: the site already holds it (or only refusals)
            outcomes[op.pk] = _outcome(op, plans[op.pk], mirror.get(op.member_id, {}), Carried())
    _identities_forget(connection, stale)
    _health_record(connection, refused_credentials[0] if refused_credentials else "", outcomes)
    return outcomes


def _outcome(op: Operation, plan: Plan, held: dict[Key, dict], carried: Carried) -> Outcome:
    want = {(row["target_kind"], row["target_id"]): row for row in op.wanted}
    holds = dict(held)
    problems: list[str] = []
    permanent = dict(plan.refused)
    sent = set()
    for (kind, remote), result in carried.results.items():
        key = plan.keys.get((kind, remote))
        if key is None:
            continue
        sent.add(key)
        if result.ok:
            if key in want:
                holds[key] = want[key]
            else:
                holds.pop(key, None)
        elif result.permanent:
            permanent[key] = f"{_kind_label(key[0])} {key[1]!r} (LearnDash {remote}): {result.code} {result.message}"
        else:
            problems.append(f"{_kind_label(key[0])} {key[1]!r}: {result.code} {result.message}".strip())
    for key in set(want) | set(held):
        if key in sent or key in permanent or key in plan.pending:
            continue  # answered above, refused, or sent without an answer: the mirror keeps what it knew
        # Nothing to send for it: the site already holds what is wanted (or, having no route to change it, its
        # access_from); the mirror takes the wanted row.
        if key in want:
            holds[key] = want[key]
        else:
            holds.pop(key, None)
    rows = sorted(holds.values(), key=lambda r: (r["target_kind"], r["target_id"]))
    if carried.auth:
        return Outcome(holds=rows, error=f"credentials refused: {carried.auth}", hold=True)
    if carried.unavailable:
        return Outcome(holds=rows, error=carried.unavailable, retry_after=carried.retry_after)
    if carried.refused:
        return Outcome(holds=rows, error=carried.refused, retry=carried.stale_user)
    if problems:
        return Outcome(holds=rows, error="; ".join(problems + list(permanent.values())))
    if permanent:
        return Outcome(holds=rows, error="; ".join(permanent.values()), retry=False)
    return Outcome(holds=rows)


def _row(key: Key, state: tuple) -> dict:
    status, access_from, since = state
    return {
        "target_kind": key[0],
        "target_id": key[1],
        "status": status,
        "access_from": access_from.isoformat(),
        "suspended_since": since.isoformat() if since else None,
    }


# -- short transactions after the calls ----------------------------------------------------------------------------


def _identities_record(connection: Connection, found: dict[int, Found]) -> dict[int, str]:
    """Record each member's WordPress user; a user already linked to another member is left out (reported)."""
    recorded = {}
    moment = clock.now()
    for member_id, result in found.items():
        try:
            with transaction.atomic():
                identity, _ = Identity.objects.get_or_create(
                    connection=connection,
                    kind=WP_USER,
                    external_id=str(result.user_id),
                    defaults={"member_id": member_id, "email": result.email, "created_at": moment},
                )
        except IntegrityError:
            continue
        if identity.member_id == member_id:
            recorded[member_id] = identity.external_id
        else:
            log.warning(
                "WordPress user %s on %s is already member %s's", result.user_id, connection.name, identity.member_id
            )
    return recorded


def _identities_forget(connection: Connection, member_ids: list[int]) -> None:
    if member_ids:
        with transaction.atomic():
            Identity.objects.filter(connection=connection, kind=WP_USER, member_id__in=member_ids).delete()


def _health_record(connection: Connection, refused: str, outcomes: dict[int, Outcome]) -> None:
    """The connection's health: refused credentials mark it unhealthy with the reason; an answered batch
    clears it."""
    moment = clock.now()
    with transaction.atomic():
        rows = Connection.objects.filter(pk=connection.pk)
        if refused:
            current = rows.values_list("consecutive_failures", flat=True).first() or 0
            rows.update(last_error=refused[:2000], consecutive_failures=current + 1)
        elif any(o.done for o in outcomes.values()):
            rows.update(last_error="", consecutive_failures=0, last_success_at=moment)
