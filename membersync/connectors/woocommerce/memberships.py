"""WooCommerce Memberships: plans, and (on a store that runs it) user memberships as the memberships' truth.

A connection with `memberships: true` in its settings runs WooCommerce Memberships: the store's user
memberships decide status and dates, and MemberSync still computes grants, drips, grace and the kept
enrollment start from them. Without it, `user_membership.*` deliveries are recorded and change nothing:
MemberSync derives memberships from orders and subscriptions.

A user membership has no modification date, so a delivery is not trusted to be the latest: the worker reads
the membership's current state from the store (outside any transaction) and applies that.
"""

from __future__ import annotations

from collections.abc import Mapping

from membersync.access.rules import FIXED, SUBSCRIPTION, UNLIMITED
from membersync.catalog.services import plan_sync
from membersync.clients.woocommerce import StoreNotFound
from membersync.members.store_memberships import membership_store_delete, membership_store_sync
from membersync.people.models import Connection

from ..models import Delivery
from ..outcomes import Outcome
from . import payloads
from .apply import customer_member, local_offset, store_actor
from .resources import resource_last
from .store import store_client


def follows_memberships(connection: Connection) -> bool:
    return bool(connection.settings.get("memberships"))


def store_plan_id(connection: Connection, plan_id: str) -> str:
    """The MemberSync id of a store's membership plan."""
    return f"{connection.name}-{plan_id}"


def user_membership_fetch(connection: Connection, payload: Mapping, *, action: str = "updated") -> dict:
    if not follows_memberships(connection) or action == "deleted" or set(payload) == {"id"}:
        return {}
    membership_id = payloads.deleted_id(payload)
    try:
        return {"current": store_client(connection).get("memberships/members", membership_id)}
    except StoreNotFound:
        return {"current": {"id": membership_id}}  # gone from the store since: deleted


def user_membership_apply(
    connection: Connection,
    payload: Mapping,
    *,
    action: str = "updated",
    current: Mapping | None = None,
    source: str = "webhook",
) -> Outcome:
    """`current`: the membership as the store shows it now (read by user_membership_fetch)."""
    if not follows_memberships(connection):
        return Outcome(
            Delivery.IGNORED,
            f"connection {connection.name} derives memberships from orders and subscriptions "
            "(its settings do not say the store runs WooCommerce Memberships)",
        )
    state_payload = current if current is not None else payload
    if action == "deleted" or set(state_payload) == {"id"}:
        store_id = payloads.deleted_id(state_payload)
        actor = store_actor(connection)
        last = resource_last(connection, "user_membership", store_id)
        result = membership_store_delete(connection_name=connection.name, store_id=store_id, actor=actor, source=source)
        owner = last.customer_id or "unknown"
        last.record(deleted=True)
        text = f"user membership {store_id} (customer {owner}) was deleted in the store"
        return Outcome(Delivery.APPLIED, text, [result.event_id])
    state = payloads.user_membership_read(state_payload, local_offset=local_offset(connection))
    last = resource_last(connection, "user_membership", state.id)
    seen = last.seen(state=state, modified=None)
    if seen is not None:
        return seen
    customer = payloads.Customer(state.customer_id, "", "")
    result = membership_store_sync(
        connection_name=connection.name,
        store_id=state.id,
        member_id=customer_member(connection, customer),
        plan_id=store_plan_id(connection, state.plan_id),
        status=state.status,
        start=state.start,
        end=state.end,
        paused_at=state.paused,
        cancelled_at=state.cancelled,
        store_url=f"{connection.url.rstrip('/')}/wp-admin/post.php?post={state.id}&action=edit",
        actor=store_actor(connection),
        source=source,
    )
    last.record(state=state, customer=customer)
    text = f"user membership {state.id} of customer {state.customer_id} is {state.status} in the store"
    return Outcome(Delivery.APPLIED, text, [result.event_id])


def plan_length(payload: Mapping, *, connection: Connection):
    """A Memberships plan's access length in MemberSync's terms."""
    if payload.get("has_subscription") and payload.get("subscription_access_length_type") == SUBSCRIPTION:
        return SUBSCRIPTION
    kind = payload.get("access_length_type") or UNLIMITED
    if kind == "specific":
        seconds = int(str(payload.get("access_length") or "0") or 0)
        if seconds <= 0:
            raise payloads.PayloadError(f"{payload.get('access_length')!r} is not a length", field="access_length")
        days, rest = divmod(seconds, 86400)
        return f"{days} days" if not rest else f"{seconds // 3600} hours"
    if kind == FIXED:
        offset = local_offset(connection)
        starts = payloads.store_date(payload, "access_start_date_gmt", "access_start_date", local_offset=offset)
        ends = payloads.store_date(payload, "access_end_date_gmt", "access_end_date", local_offset=offset)
        return {"from": starts, "until": ends}
    return UNLIMITED


def membership_plan_apply(
    connection: Connection, payload: Mapping, *, action: str = "updated", source: str = "webhook"
) -> Outcome:
    plan_id = payloads.deleted_id(payload)
    if action == "deleted" or set(payload) == {"id"}:
        resource_last(connection, "membership_plan", plan_id).record(deleted=True)
        return Outcome(
            Delivery.APPLIED,
            f"plan {plan_id} was moved to the trash in the store: its memberships keep following the store",
        )
    last = resource_last(connection, "membership_plan", plan_id)
    state = dict(payload)
    seen = last.seen(state=state, modified=None)
    if seen is not None:
        return seen
    products = [payloads.store_id(p, field="access_product_ids") for p in payload.get("access_product_ids") or []]
    plan, created = plan_sync(
        external_id=store_plan_id(connection, plan_id),
        name=str(payload.get("name") or ""),
        length=plan_length(payload, connection=connection),
        product_ids=[p for p in products if p],
    )
    last.record(state=state)
    verb = "created" if created else "updated"
    return Outcome(Delivery.APPLIED, f"plan {plan.external_id} {verb} from the store's plan {plan_id}")
