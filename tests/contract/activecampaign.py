"""An ActiveCampaign account's v3 API on loopback, for tests and benchmarks only (the product never imports it).
Built from ../shared/DOMAIN.md "CRMs" and ../shared/protocols/activecampaign-v3-documented-examples.json and
activecampaign-rate-limits.yml:

- header `Api-Token` (a wrong one: 403); `POST /api/3/contact/sync` creates or updates by email (201, with
  `fieldValues`); `GET /contacts?email=` and `?tagid=` (limit <= 100, offset, meta.total); `GET /contacts/<id>`;
  `GET/POST /tags` (inferred: the v3 tags resource); `POST /contactTags {contactTag:{contact, tag}}` (201; 404
  "Contact not found"; 422 "Missing attribute"); `DELETE /contactTags/<id>` (200 {}; 404 "No Result found for
  SubscriberTag with id N"); `GET /contacts/<id>/contactTags`; `POST /fieldValues`.
- 5 requests per second per account: the sixth within any second is 429 with `Retry-After: 1` (whole seconds).
- `fail_next(n, status, retry_after=)`; `requests`, `count()`, `most_in_window()`; `contact_tags(email)`.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import deque

from tests.contract._crm_server import CrmServer

LIMIT_PER_SECOND = 5


class ActiveCampaignAccount(CrmServer):
    def __init__(self, *, token: str | None = None, rate_limit: int = LIMIT_PER_SECOND):
        super().__init__()
        self.token = token or secrets.token_hex(16)
        self.rate_limit = rate_limit
        self.contacts: dict[str, dict] = {}  # id -> {id, email, fieldValues}
        self.tags: dict[str, str] = {}  # id -> name
        self.contact_tags: dict[str, tuple[str, str]] = {}  # contactTag id -> (contact id, tag id)
        self._next = 1
        self._recent: deque[float] = deque()

    @property
    def url(self) -> str:
        return self.origin  # the client adds /api/3

    def _id(self) -> str:
        self._next += 1
        return str(self._next)

    # ---- what tests set up and read ----

    def contact(self, email: str, tags: list[str] = ()) -> str:
        with self.lock:
            contact_id = self._id()
            self.contacts[contact_id] = {"id": contact_id, "email": email, "fieldValues": {}}
            for name in tags:
                self.contact_tags[self._id()] = (contact_id, self._tag(name))
        return contact_id

    def _tag(self, name: str) -> str:
        for tag_id, known in self.tags.items():
            if known == name:
                return tag_id
        tag_id = self._id()
        self.tags[tag_id] = name
        return tag_id

    def tags_of(self, contact_id: str) -> set[str]:
        with self.lock:
            return {self.tags[t] for c, t in self.contact_tags.values() if c == contact_id}

    def tag_apply(self, contact_id: str, name: str) -> None:
        """A person applies a tag in ActiveCampaign."""
        with self.lock:
            self.contact_tags[self._id()] = (contact_id, self._tag(name))

    # ---- the API ----

    def _limited(self) -> bool:
        now = time.monotonic()
        with self.lock:
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.rate_limit:
                return True
            self._recent.append(now)
            return False

    def dispatch(self, method, path, query, raw, headers):
        if headers.get("Api-Token") != self.token:
            return 403, {"message": "No Result found for Subscriber with id 0"}, None
        if self._limited():
            return 429, {"message": "Too Many Requests"}, {"Retry-After": "1"}
        injected = self.injected()
        if injected:
            status, retry_after = injected
            return status, {"message": "injected"}, {"Retry-After": str(int(retry_after))} if retry_after else None
        if not path.startswith("/api/3/"):
            return 404, {"message": "Not Found"}, None
        parts = path[len("/api/3/") :].strip("/").split("/")
        body = json.loads(raw) if raw else {}
        with self.lock:
            return self._route(method, parts, query, body)

    def _route(self, method, parts, query, body):
        one = lambda key: (query.get(key) or [None])[0]  # noqa: E731
        if parts == ["contact", "sync"] and method == "POST":
            given = body.get("contact") or {}
            email = (given.get("email") or "").lower()
            if not email:
                return (
                    422,
                    {"errors": [{"title": "Missing attribute", "source": {"pointer": "/data/attributes/email"}}]},
                    None,
                )
            found = next((c for c in self.contacts.values() if c["email"] == email), None)
            if found is None:
                found = {"id": self._id(), "email": email, "fieldValues": {}}
                self.contacts[found["id"]] = found
            for value in given.get("fieldValues") or []:
                found["fieldValues"][str(value["field"])] = value["value"]
            return 201, {"fieldValues": [], "contact": {"id": found["id"], "email": found["email"]}}, None
        if parts == ["contacts"] and method == "GET":
            rows = list(self.contacts.values())
            if one("email"):
                rows = [c for c in rows if c["email"] == one("email").lower()]
            if one("tagid"):
                ids = {c for c, t in self.contact_tags.values() if t == one("tagid")}
                rows = [c for c in rows if c["id"] in ids]
            return self._page(rows, query, "contacts", lambda c: {"id": c["id"], "email": c["email"]})
        if len(parts) == 2 and parts[0] == "contacts" and method == "GET":
            contact = self.contacts.get(parts[1])
            if contact is None:
                return 404, {"message": f"No Result found for Subscriber with id {parts[1]}"}, None
            return 200, {"contact": {"id": contact["id"], "email": contact["email"]}}, None
        if len(parts) == 3 and parts[0] == "contacts" and parts[2] == "contactTags" and method == "GET":
            rows = [
                {"id": ct_id, "contact": c, "tag": t} for ct_id, (c, t) in self.contact_tags.items() if c == parts[1]
            ]
            return 200, {"contactTags": rows}, None
        if parts == ["tags"] and method == "GET":
            rows = [{"id": tag_id, "tag": name, "tagType": "contact"} for tag_id, name in self.tags.items()]
            return self._page(rows, query, "tags", lambda r: r)
        if parts == ["tags"] and method == "POST":
            name = (body.get("tag") or {}).get("tag")
            if not name:
                return 422, {"errors": [{"title": "Missing attribute"}]}, None
            return 201, {"tag": {"id": self._tag(name), "tag": name}}, None
        if parts == ["contactTags"] and method == "POST":
            given = body.get("contactTag") or {}
            contact, tag = str(given.get("contact") or ""), str(given.get("tag") or "")
            if not contact or not tag:
                return (
                    422,
                    {
                        "errors": [
                            {
                                "status": 422,
                                "title": "Missing attribute",
                                "source": {"pointer": "/data/attributes/contact"},
                            }
                        ]
                    },
                    None,
                )
            if contact not in self.contacts:
                return 404, {"errors": [{"status": 404, "title": "Not Found", "detail": "Contact not found"}]}, None
            existing = next((i for i, pair in self.contact_tags.items() if pair == (contact, tag)), None)
            ct_id = existing or self._id()
            self.contact_tags[ct_id] = (contact, tag)
            return 201, {"contactTag": {"id": ct_id, "contact": contact, "tag": tag}}, None
        if len(parts) == 2 and parts[0] == "contactTags" and method == "DELETE":
            if self.contact_tags.pop(parts[1], None) is None:
                return 404, {"message": f"No Result found for SubscriberTag with id {parts[1]}"}, None
            return 200, {}, None
        if parts == ["fieldValues"] and method == "POST":
            given = body.get("fieldValue") or {}
            contact = self.contacts.get(str(given.get("contact")))
            if contact is None:
                return 404, {"errors": [{"title": "Not Found", "detail": "Contact not found"}]}, None
            contact["fieldValues"][str(given.get("field"))] = given.get("value")
            return 200, {"fieldValue": given}, None
        return 404, {"message": "Not Found"}, None

    def _page(self, rows, query, key, shape):
        limit = int((query.get("limit") or ["20"])[0])
        offset = int((query.get("offset") or ["0"])[0])
        if limit > 100:
            limit = 100
        return 200, {key: [shape(r) for r in rows[offset : offset + limit]], "meta": {"total": str(len(rows))}}, None
