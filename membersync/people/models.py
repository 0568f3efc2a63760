"""A member is one person across every system MemberSync connects to.

This app sits below the sources (memberships, organizations) and the engine (sync): everything that is about a
person references `Member`, and nothing here knows what she bought.
"""

from django.conf import settings
from django.db import models


class Member(models.Model):
    external_id = models.CharField(max_length=64, unique=True, help_text="WordPress user id (or a name of yours)")
    email = models.EmailField(blank=True, db_index=True)
    name = models.CharField(max_length=200, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="member"
    )
    created_at = models.DateTimeField()

    class Meta:
        # The table keeps the name it had when members lived in the members app (docs/decisions/0002).
        db_table = "members_member"

    def __str__(self):
        return self.name or self.email or self.external_id
