from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "membersync.ops"
    label = "ops"
    verbose_name = "Operations: health, alerts, privacy"
