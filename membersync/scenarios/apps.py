from django.apps import AppConfig


class ScenariosConfig(AppConfig):
    name = "membersync.scenarios"
    verbose_name = "Scenarios"
