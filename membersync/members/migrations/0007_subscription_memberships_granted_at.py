"""A subscription records when it created the memberships of its plans, so that it never does so again.

Existing subscriptions: the code before this migration created a subscription's memberships the first time it
was active, on-hold or pending-cancel, so that moment (from its history) is when it granted them.
"""

from django.db import migrations, models

IN_FORCE = ("active", "on-hold", "pending-cancel")


def granted_from_history(apps, schema_editor):
    Subscription = apps.get_model("members", "Subscription")
    SubscriptionChange = apps.get_model("members", "SubscriptionChange")
    first: dict[int, object] = {}
    for sub_id, at in (
        SubscriptionChange.objects.filter(status__in=IN_FORCE).order_by("at", "pk").values_list("subscription_id", "at")
    ):
        first.setdefault(sub_id, at)
    for sub_id, at in first.items():
        Subscription.objects.filter(pk=sub_id).update(memberships_granted_at=at)


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0006_member_leaves_members"),
    ]

    operations = [
        migrations.AddField(
            model_name="subscription",
            name="memberships_granted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(granted_from_history, migrations.RunPython.noop),
    ]
