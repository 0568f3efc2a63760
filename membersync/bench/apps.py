from django.apps import AppConfig


class BenchConfig(AppConfig):
    """The benchmarks and their `membersync bench` command (no models)."""

    name = "membersync.bench"
    verbose_name = "Benchmarks"
