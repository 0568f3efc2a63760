from django.apps import AppConfig


class LearnDashConfig(AppConfig):
    name = "membersync.connectors.learndash"
    label = "learndash"
    verbose_name = "LearnDash sites"
