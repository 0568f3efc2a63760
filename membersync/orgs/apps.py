from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "membersync.orgs"
    verbose_name = "Organizations"
