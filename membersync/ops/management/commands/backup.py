from pathlib import Path

from django.core.management.base import CommandError

from membersync.commandline import MemberSyncCommand
from membersync.errors import ServiceError
from membersync.ops.backup import sqlite_backup


class Command(MemberSyncCommand):
    help = "copy the SQLite database to PATH while MemberSync runs (PostgreSQL: pg_dump, see the README)"

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="PATH", help="the new file to write (an existing one is refused)")

    def handle(self, *args, path, **options):
        try:
            written = sqlite_backup(path=Path(path))
        except ServiceError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Backed up to {written} ({written.stat().st_size} bytes).")
