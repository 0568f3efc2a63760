from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "membersync.orgs"
    verbose_name = "Organizations"

    def ready(self):
        from . import sources  # noqa: F401  (registers seats and licenses as sources of access)
        from . import services  # noqa: F401  (registers revoking an order's licenses when it is refunded)
