"""What can be sold and granted: courses, groups, and the templates that grant them."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from membersync.access.rules import FIXED, SPECIFIC, SUBSCRIPTION, TARGET_KINDS, UNLIMITED


class Course(models.Model):
    external_id = models.CharField(max_length=64, unique=True, help_text="LearnDash course id (or a name of yours)")
    title = models.CharField(max_length=200)

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title


class Group(models.Model):
    """A LearnDash group: its members can open its courses."""

    external_id = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    courses = models.ManyToManyField(Course, related_name="groups", blank=True)

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title


LENGTH_CHOICES = [(k, k) for k in (UNLIMITED, SPECIFIC, FIXED, SUBSCRIPTION)]


class Plan(models.Model):
    """A WooCommerce Memberships plan: what it grants, and for how long."""

    external_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    length_kind = models.CharField(max_length=16, choices=LENGTH_CHOICES, default=UNLIMITED)
    length_duration = models.CharField(max_length=32, blank=True, help_text='for "specific": e.g. "30 days"')
    fixed_start = models.DateTimeField(null=True, blank=True)
    fixed_end = models.DateTimeField(null=True, blank=True)
    on_hold_grace = models.CharField(
        max_length=32, blank=True, help_text="how long access survives a subscription on-hold (empty: none)"
    )
    # The store's products (or variations) whose purchase grants the plan: WooCommerce Memberships'
    # access_product_ids. Ids as strings.
    product_ids = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class SeatType(models.Model):
    """A template: what holding one of an organization's seats grants."""

    external_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)

    def __str__(self):
        return self.name


class LicenseType(models.Model):
    """A template: what a license grants and for how long, counted from its assignment."""

    external_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    length_kind = models.CharField(max_length=16, choices=LENGTH_CHOICES[:3], default=UNLIMITED)
    length_duration = models.CharField(max_length=32, blank=True)
    fixed_start = models.DateTimeField(null=True, blank=True)
    fixed_end = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.name


TARGET_CHOICES = [(k, k.replace("_", " ")) for k in TARGET_KINDS]


class AccessRule(models.Model):
    """One grant of a template: a course or group, and when it opens. Belongs to exactly one template."""

    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.CASCADE, related_name="rules")
    seat_type = models.ForeignKey(SeatType, null=True, blank=True, on_delete=models.CASCADE, related_name="rules")
    license_type = models.ForeignKey(LicenseType, null=True, blank=True, on_delete=models.CASCADE, related_name="rules")
    target_kind = models.CharField(max_length=16, choices=TARGET_CHOICES, default="course")
    course = models.ForeignKey(Course, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    after = models.CharField(max_length=32, blank=True, help_text='drip: e.g. "14 days" (empty: immediately)')
    on_date = models.DateTimeField(null=True, blank=True, help_text="opens on this date instead")
    after_trial = models.BooleanField(default=False, help_text="count from the end of the free trial")

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="access_rule_one_template",
                condition=(
                    Q(plan__isnull=False, seat_type__isnull=True, license_type__isnull=True)
                    | Q(plan__isnull=True, seat_type__isnull=False, license_type__isnull=True)
                    | Q(plan__isnull=True, seat_type__isnull=True, license_type__isnull=False)
                ),
            ),
            models.CheckConstraint(
                name="access_rule_one_target",
                condition=Q(course__isnull=False, group__isnull=True) | Q(course__isnull=True, group__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.target_kind} {self.course or self.group} ({self.after or self.on_date or 'immediately'})"

    def clean(self):
        if self.target_kind == "course" and self.course_id is None:
            raise ValidationError({"course": "a course grant must name a course"})
        if self.target_kind != "course" and self.group_id is None:
            raise ValidationError({"group": "a group grant must name a group"})
