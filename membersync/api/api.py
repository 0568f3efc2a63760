"""The API object: its OpenAPI document at /api/v1/openapi.json, its docs at /api/v1/docs, its routers."""

from __future__ import annotations

from ninja import NinjaAPI

from .errors import errors_install
from .routers import access, catalog, commerce, licenses, members, memberships, operations, orgs, seats

api = NinjaAPI(
    title="MemberSync API",
    version="1",
    description="Everything the admin and the portal can do, for other systems. Send a key as "
    "`Authorization: Bearer ms_...` (`membersync apikey create`). Refusals are `{code, message, field}` with a "
    "code from docs/ERRORS.md. Writes take an `Idempotency-Key` header.",
    urls_namespace="api",
)
errors_install(api)
for module in (members, access, catalog, memberships, commerce, orgs, seats, licenses, operations):
    api.add_router("/", module.router)
