"""Access an operator grants a member by hand (access/manual.py says how it grants)."""

from django.db import models

from membersync.people.models import Member


class ManualGrant(models.Model):
    KIND_CHOICES = [("course", "course"), ("group", "LearnDash group")]

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="manual_grants")
    target_kind = models.CharField(max_length=16, choices=KIND_CHOICES, verbose_name="what")
    target_id = models.CharField(max_length=64, help_text="the course's or group's id in the catalog")
    starts_at = models.DateTimeField(verbose_name="from")
    ends_at = models.DateTimeField(null=True, blank=True, verbose_name="until", help_text="empty: until ended here")
    note = models.CharField(max_length=400, blank=True, help_text="why it was given (shown in the explanation)")
    granted_by = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True, help_text="when an operator ended it")
    ended_by = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = "manual grant"
        indexes = [models.Index(fields=["member"])]

    def __str__(self):
        return f"{self.member} in {self.target_kind} {self.target_id} (manual)"
