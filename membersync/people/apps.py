from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "membersync.people"
    verbose_name = "People"
