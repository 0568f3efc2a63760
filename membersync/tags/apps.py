from django.apps import AppConfig


class TagsConfig(AppConfig):
    name = "membersync.tags"
    verbose_name = "CRM tags"
