from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "membersync.portal"
    verbose_name = "Portal"
