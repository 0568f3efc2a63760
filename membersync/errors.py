"""The one error every service raises for input it refuses, and the one catalogue of its codes.

A refusal carries a code a program can match (from `CATALOGUE`), words a person reads, and the public name of the
field that was wrong (`membership.plan`, `actor`, `seat_type`: the names the API and the admin use). Every entry
point (admin, portal, commands, scenarios, webhooks, the API) shows the same code; the API answers with its HTTP
status. docs/ERRORS.md is this catalogue for people (a test keeps the two equal).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErrorCode:
    code: str
    http_status: int
    what_to_do: str


CATALOGUE: dict[str, ErrorCode] = {
    entry.code: entry
    for entry in (
        # Input that is wrong in itself.
        ErrorCode("invalid_value", 422, "Correct the named field: the message says what it accepts."),
        ErrorCode("invalid_status", 422, "Use one of the statuses the message lists for this kind of record."),
        ErrorCode("invalid_password", 422, "Choose a longer, less common password."),
        # Things that do not exist, or exist already.
        ErrorCode("not_found", 404, "Check the id: nothing with it exists (create it first, or fix a typo)."),
        ErrorCode("duplicate_id", 409, "Choose another id, or change the existing record instead of creating it."),
        ErrorCode("stale", 409, "Nothing to do: a newer state of this record was already applied."),
        ErrorCode("in_use", 409, "Remove what the message names as using it first (or keep it and rename it)."),
        ErrorCode(
            "confirmation_required", 409, "Review what the message lists, then confirm explicitly to go ahead."
        ),
        # Who may act.
        ErrorCode("forbidden", 403, "Ask an owner or manager of the organization, or the site's administration."),
        # Memberships and subscriptions.
        ErrorCode("subscription_tied", 409, "Pause, resume or cancel the subscription in the store instead."),
        ErrorCode(
            "store_managed", 409, "The store (WooCommerce Memberships) owns this membership: change it there."
        ),
        ErrorCode("not_active", 409, "The membership has ended: create a new one instead."),
        ErrorCode("already_paused", 409, "Nothing to do: it is paused already. Resume it first to pause again."),
        ErrorCode("not_paused", 409, "Nothing to do: it is not paused."),
        ErrorCode("not_linked", 409, "Link the membership to a subscription first."),
        ErrorCode("subscription_ended", 409, "Link to a subscription that is still running."),
        ErrorCode("order_refunded", 409, "A refunded order cannot be completed again: place a new order."),
        ErrorCode("order_reused", 409, "Give the new purchase its own order id."),
        # Organizations, seats, licenses, invitations.
        ErrorCode("last_owner", 409, "Transfer the ownership to someone else first."),
        ErrorCode("no_free_seat", 409, "Buy more seats, or free one (release or move a seat) first."),
        ErrorCode("already_has_seat", 409, "Nothing to do: the person already holds a seat of this type."),
        ErrorCode("no_seat", 409, "The person holds no such seat here: check the person and the seat type."),
        ErrorCode("seats_in_use", 409, "Release seats first: only free seats can be removed."),
        ErrorCode("license_revoked", 409, "A revoked license is gone for good: issue a new one."),
        ErrorCode("license_expired", 409, "An expired license cannot be assigned: issue or renew one."),
        ErrorCode("invitation_used", 410, "The invitation was accepted already: sign in instead."),
        ErrorCode("invitation_cancelled", 410, "Ask the organization for a new invitation."),
        ErrorCode("invitation_expired", 410, "Ask the organization for a new invitation."),
        # A member's data.
        ErrorCode("has_access", 409, "End the member's memberships, seats and licenses first, then erase her."),
        # The API.
        ErrorCode("unauthorized", 401, "Send a live API key: `Authorization: Bearer ms_...` (membersync apikey)."),
        ErrorCode("rate_limited", 429, "Wait the seconds Retry-After says, then send the request again."),
        ErrorCode("idempotency_conflict", 409, "Use a new Idempotency-Key for a different request."),
    )
}


class ServiceError(Exception):
    def __init__(self, code: str, message: str, *, field: str | None = None):
        if code not in CATALOGUE:
            raise ValueError(f"error code {code!r} is not in the catalogue (membersync/errors.py)")
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    @property
    def http_status(self) -> int:
        return CATALOGUE[self.code].http_status

    @property
    def what_to_do(self) -> str:
        return CATALOGUE[self.code].what_to_do

    def __str__(self) -> str:
        where = f" (field: {self.field})" if self.field else ""
        return f"{self.code}: {self.message}{where}"


class NotFound(ServiceError):
    def __init__(self, what: str, ident: object, *, field: str | None = None):
        super().__init__("not_found", f"no {what} with id {ident!r}", field=field)


def catalogue_markdown() -> str:
    """docs/ERRORS.md, written from the catalogue."""
    lines = [
        "# Error codes",
        "",
        "Every refusal, wherever it comes from (admin, portal, commands, scenario files, webhooks, the API), carries",
        "one of these codes, a message saying what was wrong, and the public name of the field. Nothing is changed",
        "by a refused request. The API answers with the HTTP status given here. Written from `membersync/errors.py`",
        "(`membersync.errors.catalogue_markdown()`); a test keeps the two equal.",
        "",
        "| code | HTTP | what to do |",
        "| --- | --- | --- |",
    ]
    lines += [f"| `{e.code}` | {e.http_status} | {e.what_to_do} |" for e in CATALOGUE.values()]
    return "\n".join(lines) + "\n"
