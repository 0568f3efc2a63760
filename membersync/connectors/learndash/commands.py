"""The `learndash` subcommands of `membersync connect`, `import` and `verify` (those commands add these parsers
and hand the parsed options here), and the adoption table `membersync adopt` prints."""

from __future__ import annotations

from django.core.management.base import CommandError

from membersync import clock
from membersync.errors import ServiceError

from ..models import DriftCheck
from .adoption import AdoptionPlan
from .site import learndash_connection_named

SHOWN = 50


def _connection(name: str):
    try:
        return learndash_connection_named(name)
    except ServiceError as error:
        raise CommandError(error.message) from None


# ---- connect ---------------------------------------------------------------------------------------------------


def connect_parser(systems) -> None:
    parser = systems.add_parser("learndash", help="a LearnDash site (REST API v2, WordPress application password)")
    parser.add_argument("name", metavar="NAME", help="the connection's name")
    parser.add_argument("--url", required=True, metavar="URL", help="the WordPress site, e.g. https://academy.example")
    parser.add_argument("--user", required=True, metavar="U", help="a WordPress administrator's user name")
    parser.add_argument("--app-password", required=True, metavar="P", help="that user's application password")


def connect_run(command, *, name, url, user, app_password, **_) -> None:
    from .connect import learndash_connect

    try:
        connected = learndash_connect(name=name, url=url, user=user, app_password=app_password)
    except ServiceError as error:
        raise CommandError(str(error)) from None
    out = command.stdout
    out.write(f"Connected LearnDash site {name!r} ({connected.connection.url}): the site accepted the password.")
    bases = connected.bases
    out.write(
        f"  Routes: courses at {bases.get('courses')}, groups at {bases.get('groups')}, users at {bases.get('users')}"
    )
    out.write(
        f"  Companion secret (Settings → MemberSync in WordPress, for the companion plugin): {connected.webhook_secret}"
    )
    if connected.has_companion:
        out.write("  The MemberSync companion plugin answers: suspensions keep each student's place in the drip.")
    else:
        out.write(
            "  No companion plugin: a suspension unenrolls and a resumption re-enrolls, and LearnDash then restarts "
            "the drip for those students."
        )
    out.write("  Shadow mode is ON: MemberSync records what it would send and sends nothing until you turn it off.")
    out.write(f"Next: `membersync import learndash {name}`, then `membersync adopt learndash {name} --dry-run`.")


# ---- import ----------------------------------------------------------------------------------------------------


def import_parser(systems) -> None:
    parser = systems.add_parser("learndash", help="a connected LearnDash site")
    parser.add_argument("name", metavar="NAME", help="the connection's name (membersync connect learndash NAME)")
    parser.add_argument("--dry-run", action="store_true", help="read the site and report, writing nothing")
    parser.add_argument("--restart", action="store_true", help="start over, forgetting an interrupted import")
    parser.add_argument(
        "--no-create", action="store_true", help="link to existing catalog courses and groups only, create none"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress line")


def import_run(command, *, name, dry_run, restart, no_create, no_progress, **_) -> None:
    from .catalog_import import learndash_import

    connection = _connection(name)
    progress = None if no_progress else _progress(command.stderr)
    report = learndash_import(connection, dry_run=dry_run, restart=restart, create=not no_create, progress=progress)
    out = command.stdout
    if report.resumed:
        out.write(f"Resumed an interrupted import at {report.resumed} (--restart starts over).")
    state = "stopped" if report.stopped else "finished"
    out.write(f"Import of LearnDash site {name!r} {state}{' (dry run: nothing was written)' if dry_run else ''}.")
    out.write(f"  {'':<10}{'read':>8}{'created':>9}{'updated':>9}{'unchanged':>11}{'failed':>8}")
    for r in report.resources:
        out.write(f"  {r.resource:<10}{r.read:>8}{r.created:>9}{r.updated:>9}{r.unchanged:>11}{r.failed:>8}")
    for resource in report.resources:
        for object_id, error in resource.failures[:SHOWN]:
            out.write(f"  failed: {resource.resource} {object_id}: {error}")
    for line in report.linked:
        out.write(f"  linked {line}")
    for line in report.created:
        out.write(f"  created {line}")
    for line in report.unlinked:
        out.write(f"  not linked (--no-create): {line}")
    out.write(f"  {report.identities} WordPress users recorded as members' identities (matched by email).")
    out.write(f"  {report.enrollments} enrollments, group memberships and leaderships in the snapshot.")
    for flag in report.open_flags:
        out.write(f"  FLAG: {flag}")
    if report.stopped:
        raise CommandError(report.stopped)


def _progress(stream, width: int = 30):
    def draw(resource: str, done: int, total: int) -> None:
        filled = width if total == 0 else int(width * done / total)
        end = "\n" if done >= total else ""
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {resource}{end}", ending="")
        stream.flush()

    return draw


# ---- verify ----------------------------------------------------------------------------------------------------


def verify_parser(systems) -> None:
    parser = systems.add_parser("learndash", help="a connected LearnDash site")
    parser.add_argument("name", metavar="NAME", help="the connection's name")
    parser.add_argument("--repair", action="store_true", help="send again what MemberSync made and the site lacks")
    parser.add_argument(
        "--remove-extra", action="store_true", help="with --repair: remove enrollments nothing in MemberSync grants"
    )


def verify_run(command, *, name, repair, remove_extra, **_) -> None:
    from .drift import drift_check_record, learndash_verify

    if remove_extra and not repair:
        raise CommandError("--remove-extra only goes with --repair")
    connection = _connection(name)
    check = DriftCheck.objects.create(connection=connection, started_at=clock.now(), repair=repair)
    report = learndash_verify(connection, repair=repair, remove_extra=remove_extra)
    drift_check_record(check, report, finished_at=clock.now())
    out = command.stdout
    out.write(f"Verified LearnDash site {name!r}: {report.members} members read from the site.")
    for note in report.notes:
        out.write(f"  {note}")
    if not report.differences:
        out.write("No difference: the site holds what MemberSync wants." if not report.stopped else "")
    else:
        counts = {k: sum(1 for d in report.differences if d.kind == k) for k in ("missing", "extra", "mismatched")}
        out.write(", ".join(f"{n} {k}" for k, n in counts.items()) + ":")
        for line in report.lines():
            out.write(f"  {line}")
        if not repair:
            out.write(f"Run `membersync verify learndash {name} --repair` to send the missing ones again.")
        elif counts["extra"] and not remove_extra:
            out.write("Extra enrollments are left as they are: --repair --remove-extra removes them.")
    if report.stopped:
        raise CommandError(f"verify stopped before the end: {report.stopped}")


# ---- adopt -----------------------------------------------------------------------------------------------------


def plan_lines(plan: AdoptionPlan) -> list[str]:
    lines = [f"  {'course / group':<44}{'keep':>7}{'add':>7}{'remove':>8}{'move':>7}{'not members':>13}"]
    for row in plan.rows:
        label = row.label if len(row.label) <= 43 else row.label[:42] + "…"
        lines.append(f"  {label:<44}{row.keep:>7}{row.add:>7}{row.remove:>8}{row.move:>7}{row.not_members:>13}")
    totals = [plan.total(k) for k in ("keep", "add", "remove", "move", "not_members")]
    lines.append(f"  {'all':<44}{totals[0]:>7}{totals[1]:>7}{totals[2]:>8}{totals[3]:>7}{totals[4]:>13}")
    return lines
