"""Enrollments made in the LMS itself, kept as sources of access (access/lms.py says how they grant)."""

from django.db import models
from django.db.models import Q

from membersync.access.lms import ADOPTED, HAND
from membersync.people.models import Connection, Member


class LmsEnrollment(models.Model):
    ORIGIN_CHOICES = [(HAND, "enrolled by hand in the LMS"), (ADOPTED, "adopted when the site went live")]
    KIND_CHOICES = [("course", "course"), ("group", "group"), ("group_leader", "group leader")]

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="lms_enrollments")
    target_kind = models.CharField(max_length=16, choices=KIND_CHOICES)
    target_id = models.CharField(max_length=64, help_text="the catalog's course or group id")
    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.PROTECT, help_text="the LearnDash site it was made on"
    )
    origin = models.CharField(max_length=16, choices=ORIGIN_CHOICES)
    started_at = models.DateTimeField(help_text="when she was enrolled in the LMS")
    ended_at = models.DateTimeField(null=True, blank=True, help_text="when it was undone in the LMS")
    ended_by = models.CharField(max_length=200, blank=True)
    note = models.CharField(max_length=400, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "enrollment made in the LMS"
        constraints = [
            models.UniqueConstraint(
                fields=["member", "target_kind", "target_id", "connection"],
                condition=Q(ended_at__isnull=True),
                name="lms_enrollment_one_open",
            )
        ]

    def __str__(self):
        return f"{self.member} in {self.target_kind} {self.target_id} ({self.get_origin_display()})"
