from django.contrib.admin.apps import AdminConfig


class MemberSyncAdminConfig(AdminConfig):
    """Django's admin with MemberSync's site: the home page, the alerts on every page, the site's time zone."""

    default_site = "membersync.operations.site.MemberSyncAdminSite"
