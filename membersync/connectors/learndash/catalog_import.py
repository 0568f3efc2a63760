"""Importing a LearnDash site: its courses (title, access mode, expiry, start date) with their steps in order,
its groups with their courses and leaders, and every WordPress user's course enrollments and group memberships
with their dates: what the site holds before MemberSync drives it (the adoption dry run compares with it).

    report = learndash_import(connection, progress=draw)     # resumes where an interrupted import stopped
    report = learndash_import(connection, dry_run=True)      # what would change, writing nothing

- Paged (per_page=100) and resumable: after each page ImportProgress (connectors) remembers the next page of
  that resource; an interrupted import starts there. A finished import removes its progress, and what the pass
  no longer saw (a course deleted on the site, a user gone) is removed from the snapshot.
- Idempotent: rows are keyed by the site's ids and only written when they differ; a second import changes
  nothing. HTTP reads are never inside a transaction; each page is one transaction (rolled back in a dry run).
- Links: a site course or group is linked to the catalog course/group whose external id is its post id, else
  the one with the same title (when exactly one has it); else a catalog course/group is created with external id
  = its post id (unless `create=False`). A link made before (by the admin) is kept.
- A course a user reaches through one of her groups is group access, not an enrollment of her own; open courses
  (everyone reaches them) are no enrollment either (docs/decisions, adoption record).
- WordPress users whose email is a member's become that member's WP_USER identity; no member is created here.
- Flags: an open course that a plan, seat type or license type rule grants (LearnDash refuses to enroll anyone
  into an open course, so that grant cannot reach the site).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models.functions import Lower

from membersync import clock
from membersync.catalog.models import AccessRule, Course, Group
from membersync.clients.learndash import MAX_PER_PAGE, SiteError
from membersync.people.models import WP_USER, Connection, Identity, Member, email_normalize
from membersync.people.services import member_for_identity

from ..models import ImportProgress
from .models import COURSE, GROUP, GROUP_LEADER, OPEN, SiteEnrollment, SiteStep, SiteTarget, SiteUser
from .reading import ATTEMPTS, MAX_WAIT_SECONDS, PatientReader, SiteStopped, enrolled_at_of, moment_of, text_of
from .site import site_client, wp_users_pages

# (resource, route key), in the order they are imported: groups need the courses, users the groups.
STEPS = (("courses", "courses"), ("groups", "groups"), ("users", "users"))
PROGRESS_PREFIX = "learndash:"  # ImportProgress.resource of this importer (connectors' table, shared with stores)
COUNTS = ("read", "created", "updated", "unchanged", "failed")
Progress = Callable[[str, int, int], None]  # (resource, done, total)


@dataclass
class ResourceSummary:
    resource: str
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTS}


@dataclass
class ImportReport:
    connection: str
    dry_run: bool
    resources: list[ResourceSummary] = field(default_factory=list)
    linked: list[str] = field(default_factory=list)  # "course 12 (Intro) -> catalog course intro, by title"
    created: list[str] = field(default_factory=list)  # catalog courses/groups made for unlinked ones
    unlinked: list[str] = field(default_factory=list)  # left unlinked (create=False)
    identities: int = 0  # WordPress users recorded as members' identities
    enrollments: int = 0  # course, group and leader rows in the snapshot after the import
    open_flags: list[str] = field(default_factory=list)  # open courses a rule grants
    removed: int = 0  # snapshot rows the finished pass no longer saw
    stopped: str = ""
    resumed: str = ""

    @property
    def finished(self) -> bool:
        return not self.stopped

    def summary(self, name: str) -> ResourceSummary | None:
        return next((r for r in self.resources if r.resource == name), None)


def learndash_import(
    connection: Connection,
    *,
    dry_run: bool = False,
    restart: bool = False,
    create: bool = True,
    progress: Progress | None = None,
    client=None,
    sleep: Callable[[float], None] = time.sleep,
    attempts: int = ATTEMPTS,
    max_wait: float = MAX_WAIT_SECONDS,
) -> ImportReport:
    """Import the site (see the module's docstring). Never raises for the site's failures: the report's
    `stopped` says why it stopped, and a later call resumes."""
    own_client = client is None
    run = _Import(connection, dry_run, create, progress, client or site_client(connection), sleep, attempts, max_wait)
    if restart and not dry_run:
        _progress_rows(connection).delete()
    try:
        run.all()
    except SiteStopped as stopped:
        run.report.stopped = str(stopped)
    finally:
        if own_client:
            run.client.close()
    run.report.open_flags = [_flag_text(t) for t in open_courses_granted(connection=connection)]
    run.report.enrollments = SiteEnrollment.objects.filter(connection=connection).count()
    return run.report


def _progress_rows(connection: Connection):
    return ImportProgress.objects.filter(connection=connection, resource__startswith=PROGRESS_PREFIX)


def open_courses_granted(*, connection: Connection) -> list[SiteTarget]:
    """The site's open courses (LearnDash refuses to enroll anyone into them) that a rule of MemberSync grants."""
    granted = set(
        AccessRule.objects.filter(target_kind=COURSE, course__isnull=False).values_list(
            "course__external_id", flat=True
        )
    )
    return [
        t
        for t in SiteTarget.objects.filter(connection=connection, kind=COURSE, access_mode=OPEN).exclude(target_id="")
        if t.target_id in granted
    ]


def _flag_text(target: SiteTarget) -> str:
    return (
        f"course {target.remote_id} ({target.title}) is open on the site, and a rule grants catalog course "
        f"{target.target_id}: LearnDash refuses to enroll anyone into an open course; make it closed on the site "
        "or take it out of the rules"
    )


class _Import:
    def __init__(self, connection, dry_run, create, progress, client, sleep, attempts, max_wait):
        self.connection = connection
        self.dry_run = dry_run
        self.create = create
        self.progress = progress
        self.client = client
        self.reader = PatientReader(connection.name, sleep, attempts, max_wait)
        self.report = ImportReport(connection.name, dry_run)
        self.now = clock.now()

    def all(self) -> None:
        saved = {} if self.dry_run else {p.resource[len(PROGRESS_PREFIX) :]: p for p in _progress_rows(self.connection)}
        if saved:
            pending = [(r, saved[r]) for r, _ in STEPS if r in saved and not saved[r].done]
            if pending:
                self.report.resumed = f"page {pending[0][1].next_page} of {pending[0][0]}"
        started = min((p.started_at for p in saved.values()), default=self.now)
        for resource, route in STEPS:
            summary = ResourceSummary(resource)
            self.report.resources.append(summary)
            known = saved.get(resource)
            start_page = 1
            if known is not None:
                for name in COUNTS:
                    setattr(summary, name, int(known.counts.get(name, 0)))
                summary.failures = [tuple(f) for f in known.failures]
                if known.done:
                    continue
                start_page = known.next_page
            self._resource(resource, route, summary, start_page, started)
            if resource == "groups":
                self._link()  # users' group memberships are read against linked groups
        self._link()
        if not self.dry_run:
            self.report.removed = self._forget_unseen(started)
            _progress_rows(self.connection).delete()

    # -- paging ------------------------------------------------------------------------------------------------

    def _resource(self, resource, route, summary, start_page, started) -> None:
        number = start_page
        while True:
            page = self._page(resource, route, number)
            extra = {}
            for item in page.items:
                try:
                    extra[int(item["id"])] = self._read_extra(resource, item, page.number)
                except SiteError as error:  # this object only (gone since the page was read ...): the import goes on
                    extra[int(item["id"])] = error
            with transaction.atomic():
                for item in page.items:
                    summary.read += 1
                    more = extra[int(item["id"])]
                    try:
                        if isinstance(more, SiteError):
                            raise ValueError(str(more))
                        with transaction.atomic():
                            status = getattr(self, f"_apply_{resource}")(item, more)
                    except (KeyError, TypeError, ValueError) as error:
                        status = "failed"
                        summary.failures.append((str(item.get("id", "?")), str(error)))
                    setattr(summary, status, getattr(summary, status) + 1)
                if self.dry_run:
                    transaction.set_rollback(True)
                else:
                    self._save_progress(resource, page, summary, started)
            if self.progress is not None:
                self.progress(resource, summary.read, max(page.total or 0, summary.read))
            last = page.number >= page.total_pages if page.total_pages is not None else len(page.items) < MAX_PER_PAGE
            if last or not page.items:
                break
            number = page.number + 1

    def _page(self, resource: str, route: str, number: int):
        where = f"at page {number} of {resource}"
        then = f"Run the import again: it resumes {where}."

        def read():
            if resource == "users":
                return next(iter(wp_users_pages(self.client, start_page=number)))
            return next(iter(self.client.pages(route, start_page=number)))

        try:
            return self.reader.call(read, where=where, then=then)
        except SiteError as error:  # not found, refused: nothing more can be read now
            raise SiteStopped(f"the site could not be read {where}: {error}. {then}") from None

    def _save_progress(self, resource, page, summary, started) -> None:
        ImportProgress.objects.update_or_create(
            connection=self.connection,
            resource=PROGRESS_PREFIX + resource,
            defaults={
                "next_page": page.number + 1,
                "total_pages": page.total_pages,
                "done": page.number >= (page.total_pages or page.number),
                "counts": summary.counts(),
                "failures": [list(f) for f in summary.failures[-200:]],
                "started_at": started,
                "updated_at": clock.now(),
            },
        )

    def _read_extra(self, resource: str, item: dict, page: int) -> dict:
        """What one object needs besides itself, read from the site before its page's transaction."""
        object_id = int(item["id"])
        call = self.reader.call
        then = f"Run the import again: it resumes at page {page} of {resource}."
        if resource == "courses":
            return {
                "steps": call(
                    lambda: self.client.course_steps(object_id), where=f"reading course {object_id}'s steps", then=then
                )
            }
        if resource == "groups":
            return {
                "courses": call(
                    lambda: self.client.group_courses(object_id),
                    where=f"reading group {object_id}'s courses",
                    then=then,
                ),
                "leaders": call(
                    lambda: self.client.group_leaders(object_id),
                    where=f"reading group {object_id}'s leaders",
                    then=then,
                ),
            }
        return {
            "courses": call(
                lambda: self.client.user_courses(object_id), where=f"reading user {object_id}'s courses", then=then
            ),
            "groups": call(
                lambda: self.client.user_groups(object_id), where=f"reading user {object_id}'s groups", then=then
            ),
        }

    # -- applying one object -----------------------------------------------------------------------------------

    def _apply_courses(self, item: dict, extra: dict) -> str:
        remote_id = int(item["id"])
        details = {
            "expire_access": bool(item.get("expire_access")) if item.get("expire_access") not in ("", None) else False,
            "expire_access_days": int(item.get("expire_access_days") or 0),
            "course_start_date": _iso(moment_of(item.get("course_start_date"))),
            "steps": len(extra["steps"]),
        }
        mode = str(item.get("price_type") or item.get("course_price_type") or "")
        status = self._target(COURSE, remote_id, text_of(item.get("title")), mode, details)
        steps = self._steps(remote_id, extra["steps"])
        return "updated" if status == "unchanged" and steps else status

    def _apply_groups(self, item: dict, extra: dict) -> str:
        remote_id = int(item["id"])
        courses = sorted(int(c["id"] if isinstance(c, dict) else c) for c in extra["courses"])
        details = {"courses": courses}
        status = self._target(GROUP, remote_id, text_of(item.get("title")), "", details)
        leaders = {int(u["id"] if isinstance(u, dict) else u) for u in extra["leaders"]}
        changed = self._enrollments_replace(
            SiteEnrollment.objects.filter(connection=self.connection, kind=GROUP_LEADER, remote_id=remote_id),
            {(uid, GROUP_LEADER, remote_id): None for uid in leaders},
        )
        return "updated" if status == "unchanged" and changed else status

    def _apply_users(self, item: dict, extra: dict) -> str:
        wp_user_id = int(item["id"])
        email = str(item.get("email") or "").strip()
        fields = {
            "email": email,
            "username": str(item.get("username") or item.get("slug") or ""),
            "name": text_of(item.get("name")),
        }
        row = SiteUser.objects.filter(connection=self.connection, wp_user_id=wp_user_id).first()
        if row is None:
            SiteUser.objects.create(connection=self.connection, wp_user_id=wp_user_id, seen_at=self.now, **fields)
            status = "created"
        else:
            status = "unchanged" if all(getattr(row, k) == v for k, v in fields.items()) else "updated"
            for key, value in fields.items():
                setattr(row, key, value)
            row.seen_at = self.now
            row.save()
        groups = {int(g["id"] if isinstance(g, dict) else g) for g in extra["groups"]}
        through_groups = set()
        for target in SiteTarget.objects.filter(connection=self.connection, kind=GROUP, remote_id__in=groups):
            through_groups.update(int(c) for c in target.details.get("courses", []))
        open_ids = set(
            SiteTarget.objects.filter(connection=self.connection, kind=COURSE, access_mode=OPEN).values_list(
                "remote_id", flat=True
            )
        )
        held = {(wp_user_id, GROUP, gid): None for gid in groups}
        for course in extra["courses"]:
            course_id = int(course["id"])
            if course_id in open_ids or course_id in through_groups:
                continue
            held[(wp_user_id, COURSE, course_id)] = enrolled_at_of(course)
        changed = self._enrollments_replace(
            SiteEnrollment.objects.filter(connection=self.connection, wp_user_id=wp_user_id, kind__in=(COURSE, GROUP)),
            held,
        )
        if email:
            self._identity(wp_user_id, email, fields["name"])
        return "updated" if status == "unchanged" and changed else status

    # -- rows --------------------------------------------------------------------------------------------------

    def _target(self, kind: str, remote_id: int, title: str, access_mode: str, details: dict) -> str:
        row = SiteTarget.objects.filter(connection=self.connection, kind=kind, remote_id=remote_id).first()
        if row is None:
            SiteTarget.objects.create(
                connection=self.connection,
                kind=kind,
                remote_id=remote_id,
                title=title[:255] or f"{kind} {remote_id}",
                access_mode=access_mode,
                details=details,
                imported_at=self.now,
            )
            return "created"
        details = {**row.details, **details}
        same = (row.title, row.access_mode, row.details) == (title[:255] or row.title, access_mode, details)
        row.title, row.access_mode, row.details, row.imported_at = (
            title[:255] or row.title,
            access_mode,
            details,
            self.now,
        )
        row.save()
        return "unchanged" if same else "updated"

    def _steps(self, course_id: int, steps: list[dict]) -> bool:
        """Replace the course's steps with these, in order; whether anything changed."""
        wanted = [
            (
                int(s["id"]),
                str(s.get("type") or s.get("kind") or "lesson"),
                _int_or_none(s.get("parent")),
                text_of(s.get("title")),
            )
            for s in steps
        ]
        existing = SiteStep.objects.filter(connection=self.connection, course_remote_id=course_id).order_by("position")
        have = [(s.remote_id, s.kind, s.parent_remote_id, s.title) for s in existing]
        if have == wanted:
            return False
        existing.delete()
        SiteStep.objects.bulk_create(
            SiteStep(
                connection=self.connection,
                course_remote_id=course_id,
                remote_id=rid,
                kind=kind if kind in ("lesson", "topic", "quiz") else "lesson",
                parent_remote_id=parent,
                position=position,
                title=title[:255],
            )
            for position, (rid, kind, parent, title) in enumerate(wanted, start=1)
        )
        return True

    def _enrollments_replace(self, existing, held: dict[tuple[int, str, int], datetime | None]) -> bool:
        """Make `existing` (one user's or one group's rows) equal to `held`; whether anything changed. A date the
        site stopped giving is kept (LearnDash gives it only since 5.0)."""
        rows = {(r.wp_user_id, r.kind, r.remote_id): r for r in existing}
        gone = [r.pk for key, r in rows.items() if key not in held]
        changed = bool(gone)
        SiteEnrollment.objects.filter(pk__in=gone).delete()
        for key, enrolled_at in held.items():
            row = rows.get(key)
            if row is None:
                SiteEnrollment.objects.create(
                    connection=self.connection,
                    wp_user_id=key[0],
                    kind=key[1],
                    remote_id=key[2],
                    enrolled_at=enrolled_at,
                    seen_at=self.now,
                )
                changed = True
                continue
            if enrolled_at is not None and row.enrolled_at != enrolled_at:
                row.enrolled_at = enrolled_at
                changed = True
            row.seen_at = self.now
            row.save(update_fields=["enrolled_at", "seen_at"])
        return changed

    def _identity(self, wp_user_id: int, email: str, name: str) -> None:
        known = Identity.objects.filter(connection=self.connection, kind=WP_USER, external_id=str(wp_user_id)).exists()
        if known or not Member.objects.filter(email_normalized=email_normalize(email)).exists():
            return
        member_for_identity(
            connection=self.connection, kind=WP_USER, external_id=str(wp_user_id), email=email, name=name
        )
        self.report.identities += 1

    # -- links -------------------------------------------------------------------------------------------------

    def _link(self) -> None:
        with transaction.atomic():
            for target in SiteTarget.objects.filter(connection=self.connection, target_id="").order_by(
                "kind", "remote_id"
            ):
                self._link_one(target)
            if self.dry_run:
                transaction.set_rollback(True)

    def _link_one(self, target: SiteTarget) -> None:
        model = Course if target.kind == COURSE else Group
        said = f"{target.kind} {target.remote_id} ({target.title})"
        by_id = model.objects.filter(external_id=str(target.remote_id)).first()
        titled = list(model.objects.annotate(t=Lower("title")).filter(t=target.title.lower())[:2])
        if by_id is not None:
            found, how = by_id, "by id"
        elif len(titled) == 1:
            found, how = titled[0], "by title"
        elif not self.create:
            self.report.unlinked.append(said)
            return
        else:
            found, how = model.objects.create(external_id=str(target.remote_id), title=target.title[:200]), "created"
            if target.kind == GROUP:
                course_ids = [str(c) for c in target.details.get("courses", [])]
                linked = SiteTarget.objects.filter(connection=self.connection, kind=COURSE, remote_id__in=course_ids)
                found.courses.set(Course.objects.filter(external_id__in=[t.target_id for t in linked if t.target_id]))
            self.report.created.append(f"{said} -> new catalog {target.kind} {found.external_id}")
        target.target_id = found.external_id
        target.save(update_fields=["target_id"])
        if how != "created":
            self.report.linked.append(f"{said} -> catalog {target.kind} {found.external_id}, {how}")

    def _forget_unseen(self, started: datetime) -> int:
        with transaction.atomic():
            removed = SiteEnrollment.objects.filter(connection=self.connection, seen_at__lt=started).delete()[0]
            removed += SiteUser.objects.filter(connection=self.connection, seen_at__lt=started).delete()[0]
            removed += SiteTarget.objects.filter(connection=self.connection, imported_at__lt=started).delete()[0]
        return removed


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _int_or_none(value) -> int | None:
    try:
        return int(value) or None
    except (TypeError, ValueError):
        return None
