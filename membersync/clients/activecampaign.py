"""ActiveCampaign v3 (`https://<account>.api-us1.com/api/3`, header `Api-Token`), as ../shared/DOMAIN.md "CRMs" and
../shared/protocols/activecampaign-* document it: `contact/sync` creates or updates by email (with `fieldValues`);
tags are ids (a cached name <-> id map, `GET/POST /tags`); `POST /contactTags` applies one, `DELETE
/contactTags/<id>` removes one (its id from `GET /contacts/<id>/contactTags`); lists page with limit/offset and
meta.total. 5 requests per second per account: a limiter shared by the process keeps under it, and a 429 waits its
Retry-After."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx

from .crm import Capabilities, Contact, CrmAuthError, CrmError, TagChange
from .http import retry_after_seconds
from .learndash import limiter_for

RATE = 5.0  # requests per second per account (activecampaign-rate-limits.yml)
# The account counts requests as they arrive: spacing them 10 % wider than the limit leaves room for the network's
# (or a loaded machine's) jitter, so that six never land within one second.
PACE = RATE * 0.9
PAGE = 100
MAX_WAIT = 5.0  # a 429 asking for longer is left to the outbox's retry


class ActiveCampaignClient:
    capabilities = Capabilities(bulk_tags=False, rate_per_second=RATE)

    def __init__(self, url: str, api_token: str, *, timeout: float = 10.0, account: str = "", transport=None):
        base = url.rstrip("/")
        self.base = base if base.endswith("/api/3") else base + "/api/3"
        self._http = httpx.Client(timeout=timeout, headers={"Api-Token": api_token}, transport=transport)
        self._limiter = limiter_for(f"activecampaign:{account or self.base}", rate=PACE, in_flight=RATE)
        self._tag_ids: dict[str, str] = {}
        self._tag_names: dict[str, str] = {}
        self.calls = 0

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs) -> dict:
        for attempt in range(3):
            with self._limiter.slot():
                self.calls += 1
                try:
                    response = self._http.request(method, self.base + path, **kwargs)
                except httpx.HTTPError as error:
                    raise CrmError(f"ActiveCampaign could not be reached: {type(error).__name__}") from None
            if response.status_code == 429:
                wait = retry_after_seconds(response.headers.get("Retry-After")) or 1.0
                if wait <= MAX_WAIT and attempt < 2:
                    time.sleep(wait)
                    continue
                raise CrmError("ActiveCampaign: 429 Too Many Requests", status=429, retry_after=wait)
            if response.status_code in (401, 403):
                raise CrmAuthError(
                    f"ActiveCampaign refused the API token ({response.status_code})", status=response.status_code
                )
            if response.status_code == 404:
                raise CrmError(f"ActiveCampaign: {method} {path}: 404 {response.text[:200]}", status=404, retry=False)
            if response.status_code >= 500:
                raise CrmError(f"ActiveCampaign: {method} {path}: {response.status_code}", status=response.status_code)
            if response.status_code >= 400:
                raise CrmError(
                    f"ActiveCampaign: {method} {path}: {response.status_code} {response.text[:200]}",
                    status=response.status_code,
                    retry=False,
                )
            try:
                return response.json() if response.content else {}
            except json.JSONDecodeError:
                raise CrmError(f"ActiveCampaign: {method} {path}: the answer is not JSON") from None
        raise AssertionError("unreachable")

    # ---- tags by name, through the cached map ----

    def _load_tags(self) -> None:
        offset = 0
        while True:
            page = self._call("GET", "/tags", params={"limit": PAGE, "offset": offset})
            for tag in page.get("tags", []):
                self._remember(str(tag["id"]), tag["tag"])
            offset += PAGE
            if offset >= int(page.get("meta", {}).get("total", 0)):
                return

    def _remember(self, tag_id: str, name: str) -> None:
        self._tag_ids[name] = tag_id
        self._tag_names[tag_id] = name

    def tag_id(self, name: str, *, create: bool = True) -> str | None:
        if name not in self._tag_ids:
            self._load_tags()
        if name not in self._tag_ids and create:
            made = self._call("POST", "/tags", json={"tag": {"tag": name, "tagType": "contact", "description": ""}})
            self._remember(str(made["tag"]["id"]), made["tag"]["tag"])
        return self._tag_ids.get(name)

    def tag_name(self, tag_id: str) -> str:
        if tag_id not in self._tag_names:
            self._load_tags()
        return self._tag_names.get(tag_id, tag_id)

    # ---- contacts ----

    def contact_find(self, email: str) -> Contact | None:
        found = self._call("GET", "/contacts", params={"email": email}).get("contacts", [])
        return Contact(str(found[0]["id"]), found[0]["email"]) if found else None

    def contact_upsert(self, email: str, fields: dict[str, str] | None = None) -> Contact:
        body = {"contact": {"email": email}}
        if fields:
            body["contact"]["fieldValues"] = [{"field": k, "value": v} for k, v in fields.items()]
        contact = self._call("POST", "/contact/sync", json=body)["contact"]
        return Contact(str(contact["id"]), contact["email"])

    def _contact_tags(self, contact_id: str) -> dict[str, str]:
        """tag name -> contactTag id"""
        rows = self._call("GET", f"/contacts/{contact_id}/contactTags").get("contactTags", [])
        return {self.tag_name(str(row["tag"])): str(row["id"]) for row in rows}

    def contact_get(self, contact_id: str) -> Contact:
        contact = self._call("GET", f"/contacts/{contact_id}")["contact"]
        return Contact(str(contact["id"]), contact["email"], set(self._contact_tags(contact_id)))

    def tags_change(self, changes: list[TagChange]) -> dict[str, set[str] | None]:
        """One POST per tag added; the contact's tags read once (only when something is removed), then one DELETE
        per tag removed. An add and a remove of the same tag cancel out."""
        after: dict[str, set[str] | None] = {}
        for change in changes:
            add, remove = change.add - change.remove, change.remove - change.add
            for name in sorted(add):
                tag_id = self.tag_id(name)
                self._call("POST", "/contactTags", json={"contactTag": {"contact": change.contact_id, "tag": tag_id}})
            if remove:
                held = self._contact_tags(change.contact_id)
                for name in sorted(remove & set(held)):
                    self._call("DELETE", f"/contactTags/{held[name]}")
            after[change.contact_id] = None
        return after

    def fields_set(self, contact_id: str, fields: dict[str, str]) -> None:
        for field_id, value in fields.items():
            self._call(
                "POST", "/fieldValues", json={"fieldValue": {"contact": contact_id, "field": field_id, "value": value}}
            )

    def event_track(self, email: str, event: str, data: str = "") -> None:
        raise CrmError("ActiveCampaign event tracking needs the account's event key (not configured)", retry=False)

    def account_check(self) -> None:
        self._call("GET", "/tags", params={"limit": 1})

    def contacts_all(self) -> Iterator[Contact]:
        raise CrmError("ActiveCampaign's contact list carries no tags: load contacts by tag", retry=False)

    def contacts_with_tag(self, tag: str) -> Iterator[Contact]:
        tag_id = self.tag_id(tag, create=False)
        if tag_id is None:
            return
        offset = 0
        while True:
            page = self._call("GET", "/contacts", params={"tagid": tag_id, "limit": PAGE, "offset": offset})
            for contact in page.get("contacts", []):
                yield Contact(str(contact["id"]), contact["email"])
            offset += PAGE
            if offset >= int(page.get("meta", {}).get("total", 0)):
                return
