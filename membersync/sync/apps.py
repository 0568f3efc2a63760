from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "membersync.sync"
    verbose_name = "Sync"
