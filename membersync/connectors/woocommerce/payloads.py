"""WooCommerce payloads read into plain facts, tolerating every documented quirk (DOMAIN.md, "Webhooks"):

- dates come as `YYYY-MM-DDTHH:MM:SS` with no offset even in `*_gmt` fields (read as UTC), sometimes with one;
  an unset date is "" in subscriptions and null in orders and memberships;
- ids and numbers sometimes arrive as strings;
- a v1 subscription has `start_date`, `end_date` ... (site-local) where v3 has `*_date_gmt`;
- `*.deleted` carries only `{"id": N}`;
- Memberships statuses have no `wcm-` prefix (`pending` is a pending cancellation), but tolerate one.

Nothing here touches the database; a payload that cannot be read raises PayloadError naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone


class PayloadError(ValueError):
    def __init__(self, message: str, *, field: str):
        super().__init__(f"{field}: {message}")
        self.field = field


def store_date(payload: Mapping, *keys: str, local_offset: timedelta = timedelta(0)) -> datetime | None:
    """The first of `keys` present in the payload, as an aware UTC datetime (None for "", null or absent).

    A `*_gmt` key without an offset is UTC; any other key without one is the site's local time
    (`local_offset`, from the connection's settings)."""
    for key in keys:
        if key not in payload:
            continue
        value = payload[key]
        if value in (None, "", "0000-00-00 00:00:00", "0000-00-00T00:00:00"):
            return None
        if not isinstance(value, str):
            raise PayloadError(f"{value!r} is not a date", field=key)
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace(" ", "T"))
        except ValueError:
            raise PayloadError(f"{value!r} is not an ISO 8601 date", field=key) from None
        if moment.tzinfo is None:
            offset = timedelta(0) if key.endswith("_gmt") else local_offset
            moment = moment.replace(tzinfo=timezone(offset))
        return moment.astimezone(UTC)
    return None


def store_id(value, *, field: str) -> str:
    """An id as text: 42, "42" and 42.0 are all "42"; 0, "" and null are no id ("")."""
    if value in (None, "", 0, "0"):
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PayloadError(f"{value!r} is not an id", field=field)
    if isinstance(value, float):
        if not value.is_integer():
            raise PayloadError(f"{value!r} is not an id", field=field)
        value = int(value)
    text = str(value).strip()
    if not text.isdigit():
        raise PayloadError(f"{value!r} is not an id", field=field)
    return str(int(text))


def _dated(payload: Mapping, local_offset: timedelta, name: str) -> datetime | None:
    """A `NAME_date_gmt` (v3, UTC) or `NAME_date` (v1, site-local) field."""
    return store_date(payload, f"{name}_date_gmt", f"{name}_date", local_offset=local_offset)


def _required_id(payload: Mapping, key: str, what: str) -> str:
    found = store_id(payload.get(key), field=key)
    if not found:
        raise PayloadError(f"{what} has no {key}", field=key)
    return found


def _products(payload: Mapping) -> list[str]:
    """Every product and variation id of the line items: a plan may be granted by either."""
    ids = []
    for index, line in enumerate(payload.get("line_items") or []):
        if not isinstance(line, Mapping):
            raise PayloadError("a line item is not an object", field=f"line_items[{index}]")
        for key in ("product_id", "variation_id"):
            product = store_id(line.get(key), field=f"line_items[{index}].{key}")
            if product:
                ids.append(product)
    return ids


def _email(payload: Mapping) -> str:
    billing = payload.get("billing")
    email = billing.get("email") if isinstance(billing, Mapping) else None
    return email if isinstance(email, str) else str(payload.get("email") or "")


def _name(payload: Mapping) -> str:
    billing = payload.get("billing") if isinstance(payload.get("billing"), Mapping) else payload
    return " ".join(str(billing.get(k) or "").strip() for k in ("first_name", "last_name")).strip()


@dataclass(frozen=True)
class Customer:
    id: str
    email: str
    name: str


@dataclass(frozen=True)
class SubscriptionState:
    id: str
    customer: Customer
    status: str
    products: list[str]
    start: datetime | None
    trial_end: datetime | None
    next_payment: datetime | None
    end: datetime | None
    modified: datetime | None
    parent_order: str


SUBSCRIPTION_STATUSES = ("pending", "active", "on-hold", "pending-cancel", "cancelled", "expired", "switched", "trash")


def subscription_read(payload: Mapping, *, local_offset: timedelta = timedelta(0)) -> SubscriptionState:
    """A subscription as v3 (`*_date_gmt`) or v1 (`*_date`, site-local) sends it."""
    status = str(payload.get("status") or "").removeprefix("wc-")
    if status not in SUBSCRIPTION_STATUSES:
        raise PayloadError(f"{status!r} is not a subscription status", field="status")

    return SubscriptionState(
        id=_required_id(payload, "id", "the subscription"),
        customer=Customer(_required_id(payload, "customer_id", "the subscription"), _email(payload), _name(payload)),
        status=status,
        products=_products(payload),
        start=_dated(payload, local_offset, "start"),
        trial_end=_dated(payload, local_offset, "trial_end"),
        next_payment=_dated(payload, local_offset, "next_payment"),
        end=_dated(payload, local_offset, "end"),
        modified=store_date(payload, "date_modified_gmt", "date_modified", local_offset=local_offset),
        parent_order=store_id(payload.get("parent_id"), field="parent_id"),
    )


@dataclass(frozen=True)
class OrderLine:
    id: str
    products: list[str]


@dataclass(frozen=True)
class OrderState:
    id: str
    customer: Customer | None  # a guest order has no customer
    status: str
    lines: list[OrderLine]
    paid_at: datetime | None
    modified: datetime | None
    renewal: bool  # made by Subscriptions (a renewal, switch or resubscribe): it never grants
    has_refunds: bool


PAID_STATUSES = ("processing", "completed")
ENDING_STATUSES = ("refunded", "cancelled", "failed")
_SUBSCRIPTION_ORDER_KEYS = ("_subscription_renewal", "_subscription_switch", "_subscription_resubscribe")


def order_read(payload: Mapping, *, local_offset: timedelta = timedelta(0)) -> OrderState:
    lines = []
    for index, line in enumerate(payload.get("line_items") or []):
        if not isinstance(line, Mapping):
            raise PayloadError("a line item is not an object", field=f"line_items[{index}]")
        products = [
            p
            for p in (store_id(line.get(k), field=f"line_items[{index}].{k}") for k in ("product_id", "variation_id"))
            if p
        ]
        lines.append(OrderLine(_required_id(line, "id", f"line item {index}"), products))
    meta_keys = {m.get("key") for m in payload.get("meta_data") or [] if isinstance(m, Mapping)}
    customer_id = store_id(payload.get("customer_id"), field="customer_id")
    return OrderState(
        id=_required_id(payload, "id", "the order"),
        customer=Customer(customer_id, _email(payload), _name(payload)) if customer_id else None,
        status=str(payload.get("status") or "").removeprefix("wc-"),
        lines=lines,
        paid_at=store_date(payload, "date_paid_gmt", "date_paid", "date_created_gmt", local_offset=local_offset),
        modified=store_date(payload, "date_modified_gmt", "date_modified", local_offset=local_offset),
        renewal=payload.get("created_via") == "subscription" or bool(meta_keys & set(_SUBSCRIPTION_ORDER_KEYS)),
        has_refunds=bool(payload.get("refunds")),
    )


def customer_read(payload: Mapping) -> Customer:
    return Customer(_required_id(payload, "id", "the customer"), _email(payload), _name(payload))


@dataclass(frozen=True)
class UserMembershipState:
    id: str
    customer_id: str
    plan_id: str
    status: str
    product_id: str
    order_id: str
    subscription_id: str
    start: datetime | None
    end: datetime | None
    paused: datetime | None
    cancelled: datetime | None


MEMBERSHIP_STATUSES = ("active", "complimentary", "free_trial", "pending", "paused", "delayed", "expired", "cancelled")


def user_membership_read(payload: Mapping, *, local_offset: timedelta = timedelta(0)) -> UserMembershipState:
    status = str(payload.get("status") or "").removeprefix("wcm-")
    if status not in MEMBERSHIP_STATUSES:
        raise PayloadError(f"{status!r} is not a user membership status", field="status")

    return UserMembershipState(
        id=_required_id(payload, "id", "the user membership"),
        customer_id=_required_id(payload, "customer_id", "the user membership"),
        plan_id=_required_id(payload, "plan_id", "the user membership"),
        status=status,
        product_id=store_id(payload.get("product_id"), field="product_id"),
        order_id=store_id(payload.get("order_id"), field="order_id"),
        subscription_id=store_id(payload.get("subscription_id"), field="subscription_id"),
        start=_dated(payload, local_offset, "start"),
        end=_dated(payload, local_offset, "end"),
        paused=_dated(payload, local_offset, "paused"),
        cancelled=_dated(payload, local_offset, "cancelled"),
    )


def deleted_id(payload: Mapping) -> str:
    return _required_id(payload, "id", "the deleted resource")
