from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "membersync.orgs"
    verbose_name = "Organizations"

    def ready(self):
        # Importing them registers seats and licenses as sources of access (sources) and revoking an order's
        # licenses when it is refunded (services).
        from . import services, sources  # noqa: F401
