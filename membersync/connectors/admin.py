"""Admin for what stores send: deliveries (raw, with what applying each did; failed ones replayable), the last
state applied of each store resource, and connecting a WooCommerce store."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from membersync import clock
from membersync.admin_mixins import ReadOnlyAdminMixin
from membersync.errors import ServiceError
from membersync.people.models import WOOCOMMERCE

from .deliveries import deliveries_replay
from .models import Delivery, StoreResource, WooCommerceStore
from .woocommerce.connect import MEMBERSHIPS_TOPICS, TOPICS, delivery_url, woocommerce_connect, woocommerce_key_check


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("pk", "received_at", "connection", "topic", "status", "said", "attempts")
    list_filter = ("status", "connection", "resource")
    search_fields = ("topic", "delivery_id", "error", "outcome")
    date_hierarchy = "received_at"
    ordering = ("-pk",)
    actions = ["replay"]
    fields = (
        "connection",
        "topic",
        "status",
        "outcome",
        "error",
        "received_at",
        "applied_at",
        "attempts",
        "next_attempt_at",
        "webhook_id",
        "delivery_id",
        "headers_shown",
        "body_shown",
    )
    readonly_fields = fields

    @admin.display(description="what it did")
    def said(self, delivery):
        return (delivery.error or delivery.outcome)[:160]

    @admin.display(description="headers")
    def headers_shown(self, delivery):
        return format_html_join(
            "",
            "<div><code>{}: {}</code></div>",
            ((k, "…" if k.endswith("Signature") else v) for k, v in delivery.headers.items()),
        )

    @admin.display(description="body, as it arrived")
    def body_shown(self, delivery):
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>", delivery.text[:20000])

    @admin.action(description="Apply again (replay)")
    def replay(self, request, queryset):
        replayed = deliveries_replay(delivery_ids=queryset.values_list("pk", flat=True), now=clock.now())
        statuses = [Delivery.objects.get(pk=d.pk).status for d in replayed]
        summary = ", ".join(f"{statuses.count(s)} {s}" for s in Delivery.STATUSES if statuses.count(s))
        self.message_user(request, f"Replayed {len(replayed)} deliveries: {summary or 'none'}.")


@admin.register(StoreResource)
class StoreResourceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("resource", "external_id", "connection", "customer_id", "modified_at", "deleted", "updated_at")
    list_filter = ("resource", "connection", "deleted")
    search_fields = ("external_id", "customer_id")


class WooCommerceConnectForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https", help_text="the store's address")
    consumer_key = forms.CharField(help_text="WooCommerce > Settings > Advanced > REST API: a key with read access")
    consumer_secret = forms.CharField(widget=forms.PasswordInput(render_value=False))
    webhook_secret = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False), help_text="empty: a new random one"
    )
    memberships = forms.BooleanField(
        required=False, help_text="the store runs WooCommerce Memberships: its user memberships are the truth"
    )

    class Meta:
        model = WooCommerceStore
        fields = ("name",)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            woocommerce_key_check(
                url=data["url"], consumer_key=data["consumer_key"], consumer_secret=data["consumer_secret"]
            )
        except ServiceError as error:
            raise forms.ValidationError(str(error)) from None
        return data

    def connect(self):
        """Store the connection (its key was checked in clean)."""
        data = self.cleaned_data
        return woocommerce_connect(
            name=data["name"],
            url=data["url"],
            consumer_key=data["consumer_key"],
            consumer_secret=data["consumer_secret"],
            webhook_secret=data.get("webhook_secret", ""),
            memberships=data.get("memberships", False),
            check=False,
        )


@admin.register(WooCommerceStore)
class WooCommerceStoreAdmin(admin.ModelAdmin):
    """Connect a store (its key checked against its REST API), then see the webhooks to create in WooCommerce.
    Secrets and health are managed on the connection's own page."""

    list_display = ("name", "url", "last_delivery_at", "refused_signatures")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(kind=WOOCOMMERCE)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            return WooCommerceConnectForm
        kwargs["fields"] = ()
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                (None, {"fields": ("name", "url", "consumer_key", "consumer_secret", "webhook_secret", "memberships")})
            ]
        return [("Set up in WooCommerce", {"fields": ("set_up",)})]

    def get_readonly_fields(self, request, obj=None):
        return ("set_up",) if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="webhooks to create")
    def set_up(self, store):
        topics = TOPICS + (MEMBERSHIPS_TOPICS if store.settings.get("memberships") else ())
        return format_html(
            "In WooCommerce &gt; Settings &gt; Advanced &gt; Webhooks, one webhook per topic, each with delivery URL "
            "<code>{}</code>, API version <code>WP REST API Integration v3</code> and secret <code>{}</code>"
            "<ul>{}</ul>",
            delivery_url(store),
            store.webhook_secret,
            format_html_join("", "<li><code>{}</code></li>", ((t,) for t in topics)),
        )

    def save_model(self, request, obj, form, change):
        if change:
            return
        obj.pk = form.connect().connection.pk
        messages.info(request, "Connected: the store accepted the key. Create the webhooks listed below.")
