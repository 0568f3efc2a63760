from django.core.management.base import CommandError

from membersync.commandline import MemberSyncCommand
from membersync.connectors.learndash.commands import import_parser, import_run
from membersync.connectors.woocommerce.backfill import (
    LABELS,
    ImportReport,
    woocommerce_connection_named,
    woocommerce_import,
)
from membersync.errors import ServiceError
from membersync.people.models import Connection

SHOWN_FAILURES = 50


def woocommerce_connection(name: str) -> Connection:
    try:
        return woocommerce_connection_named(name)
    except ServiceError as error:
        raise CommandError(error.message) from None


def progress_bar(stream, width: int = 30):
    """One bar per resource on stderr, redrawn in place, ended with a newline when the resource is done."""

    def draw(resource: str, done: int, total: int) -> None:
        filled = width if total == 0 else int(width * done / total)
        percent = 100 if total == 0 else int(100 * done / total)
        end = "\n" if done >= total else ""
        label = LABELS.get(resource, resource)
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label} {percent:3d}%{end}", ending="")
        stream.flush()

    return draw


def summary_lines(report: ImportReport) -> list[str]:
    applied = "would apply" if report.dry_run else "applied"
    head = f"  {'':<18}{'read':>8}{applied:>13}{'duplicates':>12}{'stale':>7}{'ignored':>9}{'failed':>8}"
    lines = [head]
    for r in report.resources:
        label = LABELS.get(r.resource, r.resource)
        if r.skipped:
            lines.append(f"  {label:<18}skipped: {r.skipped}")
            continue
        lines.append(f"  {label:<18}{r.read:>8}{r.applied:>13}{r.duplicate:>12}{r.stale:>7}{r.ignored:>9}{r.failed:>8}")
    failures = [(r.resource, oid, error) for r in report.resources for oid, error in r.failures]
    if failures:
        lines.append(f"Failures ({len(failures)}, each left as it was; the import went on):")
        for resource, oid, error in failures[:SHOWN_FAILURES]:
            lines.append(f"  {resource} {oid}: {error}")
        if len(failures) > SHOWN_FAILURES:
            lines.append(f"  ... and {len(failures) - SHOWN_FAILURES} more")
    return lines


class Command(MemberSyncCommand):
    help = "import a store's plans, customers, subscriptions and orders, or a LearnDash site's courses and students"

    def add_arguments(self, parser):
        systems = parser.add_subparsers(dest="system", required=True, metavar="SYSTEM")
        woo = systems.add_parser("woocommerce", help="a connected WooCommerce store")
        woo.add_argument("name", metavar="NAME", help="the connection's name (membersync connect woocommerce NAME)")
        woo.add_argument(
            "--dry-run", action="store_true", help="read the store and report what would change, writing nothing"
        )
        woo.add_argument(
            "--restart", action="store_true", help="start over from the first page, forgetting an interrupted import"
        )
        woo.add_argument("--no-progress", action="store_true", help="no progress bar")
        import_parser(systems)

    def handle(self, *args, system, **options):
        if system == "learndash":
            return import_run(self, **options)
        return self.woocommerce(**options)

    def woocommerce(self, *, name, dry_run, restart, no_progress, **options):
        connection = woocommerce_connection(name)
        progress = None if no_progress else progress_bar(self.stderr)
        report = woocommerce_import(connection, dry_run=dry_run, restart=restart, progress=progress)
        if report.resumed:
            self.stdout.write(
                f"Resumed an interrupted import at {report.resumed}: the counts include the pages done before "
                "(--restart starts over)."
            )
        state = "stopped" if report.stopped else "finished"
        dry = " (dry run: nothing was written)" if dry_run else ""
        self.stdout.write(f"Import of WooCommerce store {name!r} {state}{dry}.")
        for line in summary_lines(report):
            self.stdout.write(line)
        if report.stopped:
            raise CommandError(report.stopped)
        if not dry_run:
            self.stdout.write(
                f"{report.applied} objects applied; the worker carries out the enrollment changes they made."
                if report.applied
                else "Nothing changed: MemberSync was already in step with the store."
            )
