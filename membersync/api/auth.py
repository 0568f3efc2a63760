"""Who calls: the key in `Authorization: Bearer ms_...`, its scope, and for an organization's key, its organization.

A site key of scope read may read everything; write may also change sources, organizations and the catalog; admin
may also retry operations and start a resync. An organization's key reaches only `/orgs/{its org}/...`: there it
acts as that organization's manager (orgs/permissions.py limits it as one), and is refused anywhere else."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from membersync.errors import ServiceError

from .keys import apikey_authenticate, key_actor
from .models import ADMIN, READ, WRITE, ApiKey
from .ratelimit import rate_check

RANK = {READ: 0, WRITE: 1, ADMIN: 2}


class KeyAuth(HttpBearer):
    """Needs a live key of at least `scope`. `org_path`: the path names an organization (`{org}`) and that
    organization's own key may call it."""

    def __init__(self, scope: str, *, org_path: bool = False):
        super().__init__()
        self.scope = scope
        self.org_path = org_path

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        key = apikey_authenticate(token)
        if key is None:
            return None
        rate_check(key)
        if key.organization_id is not None:
            asked = (request.resolver_match.kwargs if request.resolver_match else {}).get("org")
            if not self.org_path or asked != key.organization.external_id:
                raise ServiceError(
                    "forbidden",
                    f"this key is limited to organization {key.organization.external_id}",
                    field="Authorization",
                )
        if RANK[key.scope] < RANK[self.scope]:
            raise ServiceError(
                "forbidden", f"this key's scope is {key.scope}; this needs {self.scope}", field="Authorization"
            )
        request.actor = key_actor(key)
        return key


read = KeyAuth(READ)
write = KeyAuth(WRITE)
admin = KeyAuth(ADMIN)
org_read = KeyAuth(READ, org_path=True)
org_write = KeyAuth(WRITE, org_path=True)
