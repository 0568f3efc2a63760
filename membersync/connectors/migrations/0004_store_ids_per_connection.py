"""Subscriptions and orders a store made keep the store's ids namespaced by its connection ("shop/subscription/1300",
"shop/order/727/5/gold"), so a second store's subscription 1300 is another subscription (docs/decisions/0012).

Which store made a row is known from the last states applied (StoreResource). A row two stores both claim (their
ids had already collided) goes to the store whose customer it belongs to. The naming is copied here from
connectors/woocommerce/ids.py as it is today, so later changes there do not change this migration."""

import hashlib

from django.db import migrations

NAMESPACE_LENGTH = 24
MAX_LENGTH = 64


def _digest(text, length):
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _namespace(name):
    return name if len(name) <= NAMESPACE_LENGTH else f"{name[:15]}~{_digest(name, 8)}"


def _order_line_id(name, order_id, line_id, plan_id):
    prefix = f"{_namespace(name)}/order/{order_id}/{line_id}/"
    if len(prefix) + len(plan_id) > MAX_LENGTH:
        plan_id = f"~{_digest(plan_id, 16)}"
    return prefix + plan_id


def _claimants(apps, resource):
    """store id -> [(connection, customer id)] of every store that sent this resource."""
    StoreResource = apps.get_model("connectors", "StoreResource")
    claims = {}
    rows = StoreResource.objects.filter(resource=resource).select_related("connection").order_by("connection_id")
    for row in rows:
        claims.setdefault(row.external_id, []).append((row.connection, row.customer_id))
    return claims


def _owner(apps, claims, member_id):
    """The store among `claims` whose customer is this member (the first store if none says)."""
    Identity = apps.get_model("people", "Identity")
    for connection, customer_id in claims:
        if Identity.objects.filter(
            connection=connection, kind="customer", external_id=customer_id, member_id=member_id
        ).exists():
            return connection
    return claims[0][0]


def namespace_store_ids(apps, schema_editor):
    Subscription = apps.get_model("members", "Subscription")
    Order = apps.get_model("members", "Order")
    for store_id, claims in _claimants(apps, "subscription").items():
        sub = Subscription.objects.filter(external_id=store_id).first()
        if sub is None:
            continue
        owner = _owner(apps, claims, sub.member_id)
        new_id = f"{_namespace(owner.name)}/subscription/{store_id}"
        if not Subscription.objects.filter(external_id=new_id).exists():
            Subscription.objects.filter(pk=sub.pk).update(external_id=new_id)
    for store_id, claims in _claimants(apps, "order").items():
        for order in Order.objects.filter(external_id__startswith=f"{store_id}/").select_related("plan"):
            parts = order.external_id.split("/", 2)
            if len(parts) != 3 or order.plan is None or parts[2] != order.plan.external_id:
                continue  # not ORDER/LINE/PLAN as the connector made it
            owner = _owner(apps, claims, order.member_id)
            new_id = _order_line_id(owner.name, store_id, parts[1], parts[2])
            if not Order.objects.filter(external_id=new_id).exists():
                Order.objects.filter(pk=order.pk).update(external_id=new_id)


class Migration(migrations.Migration):
    dependencies = [
        ("connectors", "0003_woocommerce_store_admin"),
        ("members", "0008_membership_owned_by_a_store"),
        ("people", "0003_fill_email_normalized"),
    ]

    # Backwards the ids stay as they are: the code before this migration would not find a namespaced id, but
    # going back is for development databases only.
    operations = [migrations.RunPython(namespace_store_ids, migrations.RunPython.noop)]
