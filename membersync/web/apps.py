from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "membersync.web"
    verbose_name = "Web server"
