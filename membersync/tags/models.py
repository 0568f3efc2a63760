"""CRM tags: the tags MemberSync knows, each course's and group's tag settings, and the tags applied to members
as sources of access (in the CRM or by an operator), with what the CRM removed that MemberSync must not re-apply.

What a CRM holds for a member is the CRM sink's mirror (sync.MirrorEntry, target kind "tag"): for the built-in CRM
that table is the CRM itself (tags/sinks.py).
"""

from django.db import models
from django.db.models import Q

from membersync.access.tags import CRM, OPERATOR
from membersync.people.models import Connection, Member


class Tag(models.Model):
    """A tag of the CRM (FORMAT.md's catalog `tags`): settings may name only these."""

    name = models.CharField(max_length=191, unique=True, help_text="as in the CRM (FluentCRM: the tag's slug)")
    title = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class TargetTagSettings(models.Model):
    """A course's or group's tag settings, keyed by the catalog target (WP Fusion's settings, FORMAT.md)."""

    KIND_CHOICES = [("course", "course"), ("group", "group")]

    target_kind = models.CharField(max_length=16, choices=KIND_CHOICES)
    target_id = models.CharField(max_length=64, help_text="the catalog's course or group id")
    link_tag = models.CharField(
        max_length=191,
        blank=True,
        help_text="Applied in the CRM it enrolls her; removed there it unenrolls her. MemberSync applies it on "
        "any enrollment from another source and removes it when that ends.",
    )
    leader_tag = models.CharField(
        max_length=191, blank=True, help_text="Groups only: the linked tag for the group's leaders."
    )
    unenroll_on_link_removed = models.BooleanField(
        default=True,
        help_text="Courses: off keeps her enrolled (as if enrolled by hand in LearnDash) when the linked tag is "
        "removed in the CRM.",
    )
    tags_on_enrollment = models.JSONField(default=list, blank=True, help_text="tags applied on enrollment")
    remove_tags_on_unenrollment = models.BooleanField(
        default=False, help_text="remove the enrollment tags when access ends (not on a suspension)"
    )

    class Meta:
        verbose_name = "course or group tag settings"
        verbose_name_plural = "course and group tag settings"
        constraints = [models.UniqueConstraint(fields=["target_kind", "target_id"], name="target_tag_settings_unique")]

    def __str__(self):
        return f"tag settings of {self.target_kind} {self.target_id}"


class MemberTag(models.Model):
    """A tag applied to a member as a source of access: in the CRM (a person or an automation there) or by an
    operator, from `applied_at` until `removed_at`. Tags MemberSync applied itself (origin mirror) are not
    stored here: they are what the CRM holds beyond these."""

    ORIGIN_CHOICES = [(CRM, "applied in the CRM"), (OPERATOR, "applied by an operator")]

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="tags")
    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.PROTECT, help_text="the CRM; empty: the built-in one"
    )
    tag = models.CharField(max_length=191)
    origin = models.CharField(max_length=16, choices=ORIGIN_CHOICES)
    applied_at = models.DateTimeField()
    applied_by = models.CharField(max_length=200, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["member", "removed_at"], name="member_tag_open")]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "connection", "tag"],
                condition=Q(removed_at__isnull=True),
                name="member_tag_one_open",
            )
        ]

    def __str__(self):
        return f"{self.tag} on {self.member} ({self.get_origin_display()})"


class TagSuppression(models.Model):
    """The CRM removed a tag MemberSync holds to mirror an enrollment she keeps: MemberSync does not apply it
    again while an enrollment still wants it (it never fights the CRM)."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(Connection, null=True, blank=True, on_delete=models.CASCADE)
    tag = models.CharField(max_length=191)
    since = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["member"], name="tag_suppression_member")]

    def __str__(self):
        return f"{self.tag} kept off {self.member}"


class CrmConnection(Connection):
    """An ActiveCampaign or FluentCRM connection, for its own admin page: connect it (the credentials checked),
    see its health and the webhook addresses to set up in the CRM."""

    class Meta:
        proxy = True
        verbose_name = "CRM connection"
