from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "membersync.sync"
    verbose_name = "Sync"

    def ready(self):
        from . import checks  # noqa: F401  registers the outbox's system checks
