from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "membersync.members"
    verbose_name = "Members"
