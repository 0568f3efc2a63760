"""A small site for the API's tests, built through the real services: a course and a plan granting it, a member
with a membership, two organizations with seats, and a key of every kind."""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client

from membersync.actors import Actor
from membersync.api.keys import apikey_create, apikey_revoke
from membersync.catalog.services import course_create, license_type_create, plan_create, seat_type_create
from membersync.members.services import membership_create
from membersync.orgs.services import license_issue, org_create, org_member_set, seat_assign, seats_add

ADMIN = Actor.operator("admin")


@dataclass
class Site:
    keys: dict[str, str]  # kind -> token: read, write, admin, acme (acme's write key), globex, revoked


def site_build() -> Site:
    course_create(external_id="intro", title="Introduction")
    course_create(external_id="safety", title="Safety")
    plan_create(external_id="gold", name="Gold", grants=[{"course": "intro"}])
    seat_type_create(external_id="standard", name="Standard", grants=[{"course": "safety"}])
    license_type_create(external_id="workshop", name="Workshop", grants=[{"course": "safety"}])
    membership_create(member_id="alice", plan_id="gold", external_id="m-alice", actor=ADMIN)
    for org in ("acme", "globex"):
        org_create(org_id=org, name=org.title(), owner_id=f"{org}-owner", actor=ADMIN)
        org_member_set(org_id=org, member_id=f"{org}-manager", role="manager", actor=ADMIN)
        seats_add(org_id=org, seat_type_id="standard", quantity=3, actor=ADMIN)
        seat_assign(org_id=org, member_id=f"{org}-student", seat_type_id="standard", actor=ADMIN)
        license_issue(license_id=f"{org}-lic", type_id="workshop", owner_org_id=org, actor=ADMIN)
    keys = {scope: apikey_create(name=f"site-{scope}", scope=scope)[1] for scope in ("read", "write", "admin")}
    keys["acme"] = apikey_create(name="acme-hr", scope="write", org_id="acme")[1]
    keys["acme-read"] = apikey_create(name="acme-read", scope="read", org_id="acme")[1]
    keys["globex"] = apikey_create(name="globex-hr", scope="write", org_id="globex")[1]
    keys["revoked"] = apikey_create(name="gone", scope="admin")[1]
    apikey_revoke(name="gone")
    return Site(keys=keys)


def call(method: str, path: str, token: str | None = None, body=None, **headers):
    """An API call through Django's test client; the answer's JSON is `response.data`."""
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    for name in list(headers):
        if not name.startswith("HTTP_"):
            headers["HTTP_" + name.upper().replace("-", "_")] = headers.pop(name)
    client = Client()
    send = getattr(client, method.lower())
    if body is None:
        response = send(f"/api/v1{path}", **headers)
    else:
        response = send(f"/api/v1{path}", data=body, content_type="application/json", **headers)
    response.data = response.json() if response.content else None
    return response
