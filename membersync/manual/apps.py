from django.apps import AppConfig


class ManualConfig(AppConfig):
    name = "membersync.manual"
    verbose_name = "Manual access"
