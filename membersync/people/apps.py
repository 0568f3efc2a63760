from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "membersync.people"
    verbose_name = "People"

    def ready(self):
        # The admin's modules are loaded by now (its app comes first): the member's page gets other apps' inlines.
        from .admin import member_admin_inlines_install

        member_admin_inlines_install()
