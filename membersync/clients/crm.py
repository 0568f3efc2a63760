"""The CRM adapter interface MemberSync's CRM sinks and tag webhooks use (modelled on what WP Fusion needs from a
CRM): find or create a contact by email, read its tags, apply and remove tags (merged per contact, in bulk where
the CRM allows), set fields, track an event, load contacts by tag. One error hierarchy for every CRM."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol


class CrmError(Exception):
    """A call failed. `retry`: trying again later can help; `retry_after`: seconds the CRM asked to wait."""

    def __init__(
        self, message: str, *, status: int | None = None, retry: bool = True, retry_after: float | None = None
    ):
        super().__init__(message)
        self.status = status
        self.retry = retry
        self.retry_after = retry_after


class CrmAuthError(CrmError):
    """The CRM refused the credentials (401/403): nothing is sent until they work again."""


@dataclass(frozen=True)
class Capabilities:
    bulk_tags: bool = False  # one call changes the tags of many contacts
    fields: bool = True
    events: bool = True
    rate_per_second: float | None = None  # the CRM's documented limit, never exceeded
    lists_tags: bool = False  # a page of its contact list carries each contact's tags (contacts_all)


@dataclass
class Contact:
    id: str
    email: str
    tags: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class TagChange:
    contact_id: str
    add: frozenset[str] = frozenset()
    remove: frozenset[str] = frozenset()


class CrmClient(Protocol):
    capabilities: Capabilities
    calls: int  # HTTP requests made, for batch summaries and benchmarks

    def contact_find(self, email: str) -> Contact | None: ...

    def contact_upsert(self, email: str, fields: dict[str, str] | None = None) -> Contact: ...

    def contact_get(self, contact_id: str) -> Contact: ...

    def tags_change(self, changes: list[TagChange]) -> dict[str, set[str] | None]:
        """Apply each contact's adds and removes in the fewest calls; contact id -> its tags after, when the CRM
        said (None: done, not said)."""
        ...

    def fields_set(self, contact_id: str, fields: dict[str, str]) -> None: ...

    def event_track(self, email: str, event: str, data: str = "") -> None: ...

    def contacts_with_tag(self, tag: str) -> Iterator[Contact]: ...

    def contacts_all(self) -> Iterator[Contact]:
        """Every contact with its tags (only when capabilities.lists_tags)."""
        ...

    def account_check(self) -> None:
        """One cheap call: raises CrmAuthError when the credentials are refused, CrmError when it cannot answer."""
        ...
