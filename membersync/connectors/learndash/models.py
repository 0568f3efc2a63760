"""A LearnDash site as MemberSync knows it: its courses and groups (linked to MemberSync's catalog), each course's
steps, its WordPress users and what they held at the last import or verify."""

from django.db import models

from membersync.people.models import Connection

COURSE = "course"
GROUP = "group"
GROUP_LEADER = "group_leader"
TARGET_KINDS = (COURSE, GROUP)
ENROLLMENT_KINDS = (COURSE, GROUP, GROUP_LEADER)
STEP_KINDS = ("lesson", "topic", "quiz")
OPEN = "open"  # a price_type LearnDash refuses to enroll anyone into (everyone may open it)
ACCESS_MODES = ("open", "closed", "free", "paynow", "subscribe")


class SiteTarget(models.Model):
    """A course or group on one LearnDash site, linked to MemberSync's catalog (target_id: the catalog Course's or
    Group's external_id; empty: not linked, so never driven on this site)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="site_targets")
    kind = models.CharField(max_length=16, choices=[(k, k) for k in TARGET_KINDS])
    remote_id = models.PositiveIntegerField(help_text="the LearnDash post id")
    target_id = models.CharField(max_length=64, blank=True, help_text="the catalog course's or group's external id")
    title = models.CharField(max_length=255)
    access_mode = models.CharField(max_length=16, blank=True, help_text="price_type: open|closed|free|paynow|subscribe")
    details = models.JSONField(default=dict, blank=True, help_text="expiry, start date, a group's courses ...")
    imported_at = models.DateTimeField()

    class Meta:
        ordering = ["connection", "kind", "title"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "kind", "remote_id"], name="site_target_unique"),
        ]
        indexes = [models.Index(fields=["connection", "kind", "target_id"], name="site_target_link")]

    def __str__(self):
        return f"{self.kind} {self.remote_id} ({self.title}) on {self.connection.name}"

    @property
    def is_open(self) -> bool:
        return self.access_mode == OPEN


class SiteStep(models.Model):
    """A lesson, topic or quiz of one course on a site, in the course's order (position)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="site_steps")
    course_remote_id = models.PositiveIntegerField()
    remote_id = models.PositiveIntegerField()
    kind = models.CharField(max_length=8, choices=[(k, k) for k in STEP_KINDS])
    parent_remote_id = models.PositiveIntegerField(null=True, blank=True, help_text="a topic's lesson, a quiz's ...")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=255)

    class Meta:
        ordering = ["connection", "course_remote_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "course_remote_id", "remote_id"], name="site_step_unique_per_course"
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.remote_id} of course {self.course_remote_id} on {self.connection.name}"


class SiteUser(models.Model):
    """A WordPress user the import read (matched to a member by email through an Identity, when one exists)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="site_users")
    wp_user_id = models.PositiveIntegerField()
    email = models.EmailField(blank=True)
    username = models.CharField(max_length=191, blank=True)
    name = models.CharField(max_length=255, blank=True)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "wp_user_id"], name="site_user_unique")]

    def __str__(self):
        return f"user {self.wp_user_id} ({self.email}) on {self.connection.name}"


class SiteEnrollment(models.Model):
    """What a WordPress user held on the site at the last import or verify: a course enrollment, a group
    membership or a group leadership, with the date the site gives for it."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="site_enrollments")
    wp_user_id = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=[(k, k) for k in ENROLLMENT_KINDS])
    remote_id = models.PositiveIntegerField(help_text="the course's or group's post id")
    enrolled_at = models.DateTimeField(null=True, blank=True, help_text="the site's enrollment date, when it has one")
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "wp_user_id", "kind", "remote_id"], name="site_enrollment_unique"
            ),
        ]
        indexes = [models.Index(fields=["connection", "kind", "remote_id"], name="site_enrollment_target")]

    def __str__(self):
        return f"user {self.wp_user_id} {self.kind} {self.remote_id} on {self.connection.name}"


class LearnDashSite(Connection):
    """A LearnDash connection, for its own admin page: connect a site, health, shadow mode, the would-send list,
    held operations, adoption."""

    class Meta:
        proxy = True
        verbose_name = "LearnDash site"
