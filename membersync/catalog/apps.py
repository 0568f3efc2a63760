from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "membersync.catalog"
    verbose_name = "Catalog"
