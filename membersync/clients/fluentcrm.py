"""FluentCRM's REST API on the WordPress site (`/wp-json/fluent-crm/v2`, application passwords over Basic), as
../shared/DOMAIN.md "CRMs" and ../shared/protocols/fluentcrm-openapi-* document it: `POST /subscribers` with
`__force_update` creates or updates by email, `GET /subscribers?search=` finds, `POST /subscribers/sync-segments`
attaches and detaches tags by slug for many contacts in one request, `POST /subscribers/track-event`. No documented
rate limit: a limiter keeps to a polite rate anyway."""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from collections.abc import Iterator

import httpx

from .crm import Capabilities, Contact, CrmAuthError, CrmError, TagChange
from .http import retry_after_seconds
from .learndash import limiter_for

RATE = 10.0
PAGE = 100
BULK = 100  # contacts per sync-segments request


class FluentCrmClient:
    capabilities = Capabilities(bulk_tags=True, rate_per_second=RATE, lists_tags=True)

    def __init__(self, url: str, user: str, app_password: str, *, timeout: float = 10.0, transport=None):
        site = url.rstrip("/")
        self.base = site if site.endswith("/fluent-crm/v2") else site + "/wp-json/fluent-crm/v2"
        token = base64.b64encode(f"{user}:{app_password.replace(' ', '')}".encode()).decode("ascii")
        self._http = httpx.Client(timeout=timeout, headers={"Authorization": f"Basic {token}"}, transport=transport)
        self._limiter = limiter_for(f"fluentcrm:{self.base}", rate=RATE, in_flight=4)
        self.calls = 0

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs) -> dict:
        with self._limiter.slot():
            self.calls += 1
            try:
                response = self._http.request(method, self.base + path, **kwargs)
            except httpx.HTTPError as error:
                raise CrmError(f"FluentCRM could not be reached: {type(error).__name__}") from None
        if response.status_code == 429:
            raise CrmError(
                "FluentCRM: 429",
                status=429,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")) or 1.0,
            )
        if response.status_code in (401, 403):
            raise CrmAuthError(
                f"FluentCRM refused the application password ({response.status_code})", status=response.status_code
            )
        if response.status_code >= 500:
            raise CrmError(f"FluentCRM: {method} {path}: {response.status_code}", status=response.status_code)
        if response.status_code >= 400:
            raise CrmError(
                f"FluentCRM: {method} {path}: {response.status_code} {response.text[:200]}",
                status=response.status_code,
                retry=False,
            )
        try:
            return response.json() if response.content else {}
        except json.JSONDecodeError:
            raise CrmError(f"FluentCRM: {method} {path}: the answer is not JSON") from None

    @staticmethod
    def _contact(row: dict) -> Contact:
        return Contact(
            str(row["id"]), row.get("email", ""), {t["slug"] for t in row.get("tags") or [] if t.get("slug")}
        )

    def contact_find(self, email: str) -> Contact | None:
        rows = self._call("GET", "/subscribers", params={"search": email, "per_page": 10}).get("subscribers", {})
        rows = rows.get("data", []) if isinstance(rows, dict) else rows
        for row in rows:
            if row.get("email", "").lower() == email.lower():
                return self._contact(row)
        return None

    def contact_upsert(self, email: str, fields: dict[str, str] | None = None) -> Contact:
        body = {"email": email, "status": "subscribed", "__force_update": "yes"}
        if fields:
            body["custom_values"] = fields
        return self._contact(self._call("POST", "/subscribers", json=body)["contact"])

    def contact_get(self, contact_id: str) -> Contact:
        return self._contact(self._call("GET", f"/subscribers/{contact_id}")["subscriber"])

    def tags_change(self, changes: list[TagChange]) -> dict[str, set[str] | None]:
        """Contacts with the same adds and removes share one sync-segments request (at most BULK contacts each)."""
        alike: dict[tuple[frozenset, frozenset], list[str]] = defaultdict(list)
        for change in changes:
            alike[(change.add - change.remove, change.remove - change.add)].append(change.contact_id)
        after: dict[str, set[str] | None] = {}
        for (add, remove), ids in alike.items():
            if not add and not remove:
                after.update(dict.fromkeys(ids))
                continue
            for start in range(0, len(ids), BULK):
                chunk = ids[start : start + BULK]
                body = {
                    "subscribers": [int(i) for i in chunk],
                    "type": "tags",
                    "attach": sorted(add),
                    "detach": sorted(remove),
                    "find_by": "slug",
                }
                answer = self._call("POST", "/subscribers/sync-segments", json=body)
                said = {str(row["id"]): self._contact(row).tags for row in answer.get("subscribers", [])}
                for contact_id in chunk:
                    after[contact_id] = said.get(contact_id)
        return after

    def fields_set(self, contact_id: str, fields: dict[str, str]) -> None:
        self._call("PUT", f"/subscribers/{contact_id}", json={"subscriber": {"custom_values": fields}})

    def event_track(self, email: str, event: str, data: str = "") -> None:
        self._call(
            "POST", "/subscribers/track-event", json={"event_key": event, "title": event, "value": data, "email": email}
        )

    def account_check(self) -> None:
        self._call("GET", "/subscribers", params={"per_page": 1})

    def contacts_all(self) -> Iterator[Contact]:
        """Every subscriber with its tags, a page of PAGE at a time (oldest first, so a page is stable)."""
        page = 1
        while True:
            answer = self._call(
                "GET",
                "/subscribers",
                params={"per_page": PAGE, "page": page, "sort_by": "id", "sort_type": "ASC"},
            )
            rows = answer.get("subscribers", {})
            data = rows.get("data", []) if isinstance(rows, dict) else rows
            for row in data:
                yield self._contact(row)
            last = rows.get("last_page", page) if isinstance(rows, dict) else page
            if page >= last or not data:
                return
            page += 1

    def contacts_with_tag(self, tag: str) -> Iterator[Contact]:
        """The list's `tags[]` filter takes tag ids, not slugs: the contact list, which carries each contact's
        tags, is read and filtered by slug."""
        return (contact for contact in self.contacts_all() if tag in contact.tags)
