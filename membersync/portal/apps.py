from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "membersync.portal"
    verbose_name = "Portal"

    def ready(self):
        from membersync import deploy  # noqa: F401  registers the deploy checks (SECRET_KEY, email delivery)
