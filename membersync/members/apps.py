from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "membersync.members"
    verbose_name = "Members"

    def ready(self):
        from . import sources  # noqa: F401  (registers memberships as a source of access)
