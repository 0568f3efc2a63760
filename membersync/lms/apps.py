from django.apps import AppConfig


class LmsConfig(AppConfig):
    name = "membersync.lms"
    verbose_name = "Enrollments made in the LMS"
