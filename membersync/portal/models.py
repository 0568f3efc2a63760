"""The portal's own records: failed logins, counted to throttle password guessing (portal and admin)."""

from django.db import models


class LoginFailure(models.Model):
    """One failed login, under the account tried and under the client address it came from (two rows). Rows
    older than the throttle's window are deleted as new failures arrive."""

    ACCOUNT = "account"
    ADDRESS = "address"

    kind = models.CharField(max_length=8, choices=[(ACCOUNT, ACCOUNT), (ADDRESS, ADDRESS)])
    key = models.CharField(max_length=254)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["kind", "key", "at"]), models.Index(fields=["at"])]

    def __str__(self):
        return f"failed login for {self.kind} {self.key} at {self.at:%Y-%m-%d %H:%M:%S}"
