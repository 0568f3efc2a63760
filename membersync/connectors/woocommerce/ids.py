"""MemberSync's ids for what a store sells: namespaced by the connection, so two stores on one site never share
one (docs/decisions/0012-stores-and-workers-side-by-side.md). Ids are at most 64 characters (the columns')."""

from __future__ import annotations

import hashlib

from membersync.people.models import Connection

MAX_LENGTH = 64
NAMESPACE_LENGTH = 24


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def store_namespace(connection: Connection) -> str:
    """The connection's name, or for a long one its start and a digest of it (24 characters at most)."""
    name = connection.name
    return name if len(name) <= NAMESPACE_LENGTH else f"{name[:15]}~{_digest(name, 8)}"


def subscription_id(connection: Connection, store_id: str) -> str:
    """A store subscription's MemberSync id: "shop/subscription/1300"."""
    return f"{store_namespace(connection)}/subscription/{store_id}"


def order_prefix(connection: Connection, order_id: str) -> str:
    """What the ids of every MemberSync order made for one store order start with: "shop/order/727/"."""
    return f"{store_namespace(connection)}/order/{order_id}/"


def order_line_id(connection: Connection, order_id: str, line_id: str, plan_id: str) -> str:
    """Each (line item, plan) of a store order is one order in MemberSync, "shop/order/727/5/gold": a refund can
    end one line alone. A plan id too long to fit is replaced by a digest of it."""
    prefix = f"{order_prefix(connection, order_id)}{line_id}/"
    if len(prefix) + len(plan_id) > MAX_LENGTH:
        plan_id = f"~{_digest(plan_id, 16)}"
    return prefix + plan_id


def order_line_of(connection: Connection, order_id: str, external_id: str) -> str:
    """The line item id in a MemberSync order id made by order_line_id."""
    return external_id.removeprefix(order_prefix(connection, order_id)).split("/", 1)[0]
