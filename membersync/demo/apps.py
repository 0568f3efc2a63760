from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo site and its `membersync demo` command (no models)."""

    name = "membersync.demo"
    verbose_name = "Demo"
