"""What can be sold and granted: courses, groups, and the templates that grant them."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from membersync.access.rules import FIXED, SPECIFIC, SUBSCRIPTION, TARGET_KINDS, UNLIMITED


class SiteSettings(models.Model):
    """The site's own settings, one row (catalog.selectors.site_settings_get gives the defaults before it exists)."""

    timezone = models.CharField(
        max_length=64,
        default="UTC",
        help_text="The site's time zone (e.g. Europe/Berlin): dates in the admin are shown and entered in it, and "
        "a grant rule's date without a time opens at midnight there.",
    )
    plan_change_confirm_above = models.PositiveIntegerField(
        default=50,
        help_text="When a change to a plan's grants would take access away from more members than this, the change "
        "waits until an operator ticks 'I confirm these removals'.",
    )

    class Meta:
        verbose_name = "site settings"
        verbose_name_plural = "site settings"

    def __str__(self):
        return f"Site settings (time zone {self.timezone})"


class Course(models.Model):
    external_id = models.CharField(
        max_length=64, unique=True, help_text="The LearnDash course id (or a short name of yours): fixed once saved."
    )
    title = models.CharField(max_length=200)

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title


class Group(models.Model):
    """A LearnDash group: its members can open its courses."""

    external_id = models.CharField(
        max_length=64, unique=True, help_text="The LearnDash group id (or a short name of yours): fixed once saved."
    )
    title = models.CharField(max_length=200)
    courses = models.ManyToManyField(Course, related_name="groups", blank=True)

    class Meta:
        ordering = ["title"]
        verbose_name = "LearnDash group"

    def __str__(self):
        return self.title


LENGTH_CHOICES = [(k, k) for k in (UNLIMITED, SPECIFIC, FIXED, SUBSCRIPTION)]


class Plan(models.Model):
    """A WooCommerce Memberships plan: what it grants, and for how long."""

    external_id = models.CharField(
        max_length=64, unique=True, help_text="A short id (the store's plan id or slug): fixed once saved."
    )
    name = models.CharField(max_length=200)
    length_kind = models.CharField(
        max_length=16,
        choices=LENGTH_CHOICES,
        default=UNLIMITED,
        verbose_name="access length",
        help_text="unlimited: until cancelled; specific: a length from the start; fixed: between two dates; "
        "subscription: as long as the subscription that pays for it.",
    )
    length_duration = models.CharField(
        max_length=32, blank=True, verbose_name="length", help_text='For "specific": e.g. "30 days", "1 year".'
    )
    fixed_start = models.DateTimeField(null=True, blank=True, help_text='For "fixed": access starts then.')
    fixed_end = models.DateTimeField(null=True, blank=True, help_text='For "fixed": access ends then.')
    on_hold_grace = models.CharField(
        max_length=32,
        blank=True,
        help_text='How long access survives a subscription on hold, e.g. "1 day" (empty: it is paused at once).',
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
    after = models.CharField(
        max_length=32,
        blank=True,
        verbose_name="opens after",
        help_text='A drip: e.g. "14 days", "2 weeks", "1 month" of active membership (empty: immediately).',
    )
    on_date = models.DateTimeField(
        null=True, blank=True, verbose_name="opens on", help_text="Or a date (in the site's time zone) instead."
    )
    after_trial = models.BooleanField(
        default=False, verbose_name="after the trial", help_text="Count from the end of the free trial."
    )

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
