"""FluentCRM's REST API (`/wp-json/fluent-crm/v2`) on loopback, for tests and benchmarks only. Built from
../shared/protocols/fluentcrm-openapi-contacts-*.json (FluentCRM's official OpenAPI) and ../shared/DOMAIN.md:
application passwords over Basic (wrong: 401 rest_forbidden, inferred); `GET /subscribers` (search, per_page,
page; `subscribers: {data, total, last_page}`, inferred from WordPress's paginator); `POST /subscribers` (email and
status required; an existing email is 422 unless `__force_update: yes`); `GET /subscribers/<id>`; `PUT
/subscribers/<id>` (attach_tags / detach_tags by id, custom_values); `POST /subscribers/sync-segments`
(subscribers, type tags, attach/detach by slug; unknown slugs are skipped, inferred); `POST
/subscribers/track-event` (422 unless event tracking is enabled). No rate limit is documented.
"""

from __future__ import annotations

import base64
import json
import secrets

from tests.contract._crm_server import CrmServer

BASE = "/wp-json/fluent-crm/v2"


class FluentCrmSite(CrmServer):
    def __init__(self, *, user: str = "admin", event_tracking: bool = False):
        super().__init__()
        self.user = user
        self.app_password = " ".join(secrets.token_hex(2) for _ in range(6))
        self.event_tracking = event_tracking
        self.subscribers: dict[int, dict] = {}
        self.tags: dict[int, dict] = {}  # id -> {id, title, slug}
        self.events: list[dict] = []
        self._next = 0

    @property
    def url(self) -> str:
        return self.origin

    def _id(self) -> int:
        self._next += 1
        return self._next

    def tag(self, slug: str, title: str = "") -> int:
        with self.lock:
            return self._tag(slug, title)

    def _tag(self, slug: str, title: str = "") -> int:
        for tag in self.tags.values():
            if tag["slug"] == slug:
                return tag["id"]
        tag_id = self._id()
        self.tags[tag_id] = {"id": tag_id, "title": title or slug, "slug": slug}
        return tag_id

    def subscriber(self, email: str, tags: list[str] = ()) -> int:
        with self.lock:
            sub_id = self._id()
            self.subscribers[sub_id] = {
                "id": sub_id,
                "email": email,
                "tags": {self._tag(t) for t in tags},
                "custom": {},
            }
        return sub_id

    def tags_of(self, sub_id: int) -> set[str]:
        with self.lock:
            return {self.tags[t]["slug"] for t in self.subscribers[int(sub_id)]["tags"]}

    def _shape(self, sub: dict) -> dict:
        return {
            "id": sub["id"],
            "email": sub["email"],
            "tags": [self.tags[t] for t in sorted(sub["tags"])],
            "custom_values": sub["custom"],
        }

    def dispatch(self, method, path, query, raw, headers):
        expected = "Basic " + base64.b64encode(f"{self.user}:{self.app_password.replace(' ', '')}".encode()).decode()
        if headers.get("Authorization") != expected:
            return (
                401,
                {
                    "code": "rest_forbidden",
                    "message": "Sorry, you are not allowed to do that.",
                    "data": {"status": 401},
                },
                None,
            )
        injected = self.injected()
        if injected:
            status, retry_after = injected
            return status, {"message": "injected"}, {"Retry-After": str(int(retry_after))} if retry_after else None
        if not path.startswith(BASE + "/"):
            return 404, {"code": "rest_no_route", "message": "No route was found", "data": {"status": 404}}, None
        parts = path[len(BASE) + 1 :].strip("/").split("/")
        body = json.loads(raw) if raw else {}
        with self.lock:
            return self._route(method, parts, query, body)

    def _route(self, method, parts, query, body):
        one = lambda key, default=None: (query.get(key) or [default])[0]  # noqa: E731
        if parts == ["subscribers"] and method == "GET":
            rows = sorted(self.subscribers.values(), key=lambda s: s["id"])
            if one("search"):
                rows = [s for s in rows if one("search").lower() in s["email"]]
            per_page, page = int(one("per_page", 15)), int(one("page", 1))
            last = max(1, -(-len(rows) // per_page))
            data = rows[(page - 1) * per_page : page * per_page]
            return (
                200,
                {
                    "subscribers": {
                        "data": [self._shape(s) for s in data],
                        "total": len(rows),
                        "current_page": page,
                        "last_page": last,
                    }
                },
                None,
            )
        if parts == ["subscribers"] and method == "POST":
            email = (body.get("email") or "").lower()
            if not email or body.get("status") is None:
                return 422, {"message": "email and status are required"}, None
            found = next((s for s in self.subscribers.values() if s["email"] == email), None)
            if found is not None and body.get("__force_update") != "yes":
                return 422, {"message": "Provided email already assigned to another subscriber."}, None
            if found is None:
                found = {"id": self._id(), "email": email, "tags": set(), "custom": {}}
                self.subscribers[found["id"]] = found
            found["tags"] |= {int(t) for t in body.get("tags") or []}
            found["custom"].update(body.get("custom_values") or {})
            return 200, {"message": "Contact has been saved", "contact": self._shape(found)}, None
        if parts == ["subscribers", "sync-segments"] and method == "POST":
            if body.get("type") != "tags" or not isinstance(body.get("subscribers"), list):
                return 422, {"message": "subscribers and type are required"}, None
            by_slug = {t["slug"]: t["id"] for t in self.tags.values()}
            changed = []
            for sub_id in body["subscribers"]:
                sub = self.subscribers.get(int(sub_id))
                if sub is None:
                    continue
                sub["tags"] |= {by_slug[s] for s in body.get("attach") or [] if s in by_slug}
                sub["tags"] -= {by_slug[s] for s in body.get("detach") or [] if s in by_slug}
                changed.append(self._shape(sub))
            return 200, {"message": "Successfully updated the subscribers.", "subscribers": changed}, None
        if parts == ["subscribers", "track-event"] and method == "POST":
            if not self.event_tracking:
                return 422, {"message": "Event tracking is not enabled", "error_code": "event_tracking_disabled"}, None
            self.events.append(body)
            return 200, {"message": "Event has been tracked", "id": len(self.events)}, None
        if len(parts) == 2 and parts[0] == "subscribers" and parts[1].isdigit():
            sub = self.subscribers.get(int(parts[1]))
            if sub is None:
                return 404, {"message": "Subscriber not found"}, None
            if method == "GET":
                return 200, {"subscriber": self._shape(sub)}, None
            if method == "PUT":
                given = body.get("subscriber") or body
                sub["tags"] |= {int(t) for t in given.get("attach_tags") or []}
                sub["tags"] -= {int(t) for t in given.get("detach_tags") or []}
                sub["custom"].update(given.get("custom_values") or {})
                return 200, {"message": "Subscriber successfully updated", "contact": self._shape(sub)}, None
        return 404, {"code": "rest_no_route", "message": "No route was found", "data": {"status": 404}}, None
