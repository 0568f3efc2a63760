from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "membersync.operations"
    verbose_name = "Running the site"
