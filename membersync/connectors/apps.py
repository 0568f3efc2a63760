from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "membersync.connectors"
    verbose_name = "Connected stores and sites"
