"""The WooCommerce REST client against the contract store, over real HTTP on loopback."""

import logging

import httpx
import pytest

from membersync.clients.woocommerce import (
    Page,
    StoreAuthError,
    StoreError,
    StoreNotFound,
    StoreUnavailable,
    WooCommerceClient,
    default_timeout,
)
from tests.contract.fixtures import woocommerce_store, woocommerce_store_factory  # noqa: F401 (fixtures)


def _client(store, **options) -> WooCommerceClient:
    options.setdefault("timeout", 5)
    return WooCommerceClient(store.url, store.consumer_key, store.consumer_secret, **options)


def _secrets_absent(store, *texts: str) -> bool:
    return not any(secret in text for text in texts for secret in (store.consumer_secret, store.consumer_key))


def test_credentials_that_work_pass_the_check(woocommerce_store):  # noqa: F811
    with _client(woocommerce_store) as client:
        client.check()
        assert client.has_route("subscriptions") and client.has_route("memberships/members")
    assert woocommerce_store.requests[0].route == "orders" and woocommerce_store.requests[0].auth == "basic"


def test_a_refused_key_is_a_clear_error_without_the_secret(woocommerce_store):  # noqa: F811
    store = woocommerce_store
    client = WooCommerceClient(store.url, store.consumer_key, "cs_this-secret-is-wrong-0123456789", timeout=5)
    with pytest.raises(StoreAuthError) as refused:
        client.check()
    message = str(refused.value)
    assert "refused the consumer key ending in …" + store.consumer_key[-4:] in message
    assert "Consumer secret is invalid" in message and "/wp-json/wc/v3/orders?per_page=1" in message
    assert refused.value.status == 401 and refused.value.code == "woocommerce_rest_authentication_error"
    assert _secrets_absent(store, message, repr(client), refused.value.url)
    assert "cs_this-secret-is-wrong" not in message

    stranger = WooCommerceClient(store.url, "ck_unknown_key_0123456789", "cs_unknown_0123456789", timeout=5)
    with pytest.raises(StoreAuthError, match="woocommerce_rest_cannot_view") as anonymous:
        stranger.get("orders", 1)
    assert "query-string authentication" in str(anonymous.value)  # the stripped-header hint


def test_query_string_auth_keeps_the_secret_out_of_logs_and_errors(woocommerce_store, caplog):  # noqa: F811
    store = woocommerce_store
    store.customer(id=80)
    caplog.set_level(logging.DEBUG)
    with _client(store, query_auth=True) as client:
        assert client.get("customers", 80)["id"] == 80
        store.fail_next(1, 500)
        with pytest.raises(StoreUnavailable) as failed:
            client.get("customers", 80)
    assert store.requests[0].auth == "query" and "consumer_secret" not in store.requests[0].params
    assert "HTTP Request: GET" in caplog.text  # httpx logs each request's URL ...
    assert _secrets_absent(store, caplog.text, str(failed.value), repr(client))  # ... never with the secret


def test_get_reads_one_object_of_each_resource(woocommerce_store):  # noqa: F811
    store = woocommerce_store
    store.customer(id=80, email="ada@example.com")
    store.plan(id=55, access_product_ids=[84])
    store.order(id=727, customer=80, product_id=84)
    store.subscription(id=1300, customer=80, product_id=84, parent_id=727)
    store.user_membership(id=19, customer=80, plan=55, subscription=1300)
    with _client(store) as client:
        assert client.get("customers", 80)["email"] == "ada@example.com"
        assert client.get("orders", "727")["status"] == "processing"
        assert client.get("subscriptions", 1300)["billing_interval"] == "1"
        assert client.get("memberships/members", 19)["subscription_id"] == 1300
        assert client.get("memberships/plans", 55)["access_product_ids"] == [84]


def test_pages_are_fetched_lazily_and_an_import_resumes_from_a_page(woocommerce_store):  # noqa: F811
    store = woocommerce_store
    for n in range(250):
        store.customer(email=f"c{n:03}@example.com")
    with _client(store) as client:
        pages = client.pages("customers", per_page=100, params={"orderby": "id", "order": "asc"})
        first = next(pages)
        assert (first.number, first.total_pages, first.total, len(first.items)) == (1, 3, 250, 100)
        assert len(store.requests) == 1  # nothing fetched ahead
        rest = list(pages)
        assert [(p.number, len(p.items), p.is_last) for p in rest] == [(2, 100, False), (3, 50, True)]
        everyone = [c["id"] for page in [first, *rest] for c in page.items]
        assert len(set(everyone)) == 250

        resumed = list(client.pages("customers", per_page=100, start_page=2, params={"orderby": "id", "order": "asc"}))
        assert [p.number for p in resumed] == [2, 3]
        assert [c["id"] for p in resumed for c in p.items] == everyone[100:]
    assert [r.params["page"] for r in store.requests[-2:]] == [["2"], ["3"]]


def test_an_empty_list_is_one_empty_page(woocommerce_store):  # noqa: F811
    with _client(woocommerce_store) as client:
        assert list(client.pages("subscriptions")) == [Page(number=1, total_pages=0, total=0, items=[])]


def test_a_missing_object_and_a_missing_plugin_are_not_found(woocommerce_store_factory):  # noqa: F811
    store = woocommerce_store_factory(memberships=False)
    with _client(store) as client:
        with pytest.raises(StoreNotFound) as missing:
            client.get("orders", 404404)
        assert missing.value.status == 404 and not missing.value.route_missing
        assert "woocommerce_rest_shop_order_invalid_id" in str(missing.value)
        assert client.has_route("memberships/members") is False
        with pytest.raises(StoreNotFound, match="WooCommerce Memberships is active") as no_route:
            next(client.pages("memberships/members"))
        assert no_route.value.route_missing


@pytest.mark.parametrize(
    ("status", "retry_after"),
    [(503, 600.0), (500, None), (502, None), (429, 7.0)],
)
def test_server_errors_and_rate_limits_are_unavailable_with_the_retry_hint(woocommerce_store, status, retry_after):  # noqa: F811
    store = woocommerce_store
    store.fail_next(1, status, retry_after=7 if status == 429 else None)
    with _client(store) as client:
        with pytest.raises(StoreUnavailable) as unavailable:
            client.check()
        assert unavailable.value.status == status and unavailable.value.retry_after == retry_after
        assert f"HTTP {status}" in str(unavailable.value) and "try again later" in str(unavailable.value)
        client.check()  # the client itself never retried: the next call is a new request
    assert [r.status for r in store.requests] == [status, 200]


def test_a_timeout_and_a_dropped_connection_are_unavailable(woocommerce_store):  # noqa: F811
    store = woocommerce_store
    store.slow(2, times=1)
    with _client(store, timeout=0.2) as client:
        with pytest.raises(StoreUnavailable, match=r"did not answer .* within 0.2 s") as timed_out:
            client.check()
        assert timed_out.value.status is None and timed_out.value.__cause__ is None
        store.drop_next()
        with pytest.raises(StoreUnavailable, match="could not reach the store"):
            client.check()


def test_an_unreachable_store_is_unavailable():
    client = WooCommerceClient("http://127.0.0.1:9", "ck_0123456789abcdef", "cs_0123456789abcdef", timeout=1)
    with pytest.raises(StoreUnavailable, match="could not reach the store"):
        client.check()


def test_redirects_and_answers_that_are_not_json_are_explained():
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/orders"):
            target = "https://www.shop.example/wp-json/wc/v3/orders?consumer_secret=cs_leaked"
            return httpx.Response(301, headers={"Location": target})
        return httpx.Response(200, text="<html>Just a moment...</html>", headers={"Content-Type": "text/html"})

    client = WooCommerceClient(
        "https://shop.example",
        "ck_0123456789abcdef",
        "cs_0123456789abcdef",
        timeout=1,
        transport=httpx.MockTransport(answer),
    )
    with pytest.raises(StoreError, match="redirects .* to https://www.shop.example/wp-json/wc/v3/orders ") as moved:
        client.check()
    assert "cs_leaked" not in str(moved.value)
    with pytest.raises(StoreError, match="not JSON"):
        client.get("customers", 1)


def test_the_credentials_travel_as_basic_auth_or_query_parameters_only():
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[], headers={"X-WP-Total": "0", "X-WP-TotalPages": "0"})

    for query_auth in (False, True):
        WooCommerceClient(
            "https://shop.example/",
            "ck_0123456789abcdef",
            "cs_0123456789abcdef",
            timeout=1,
            transport=httpx.MockTransport(answer),
            query_auth=query_auth,
        ).check()
    basic, query = seen
    assert str(basic.url) == "https://shop.example/wp-json/wc/v3/orders?per_page=1"
    assert basic.headers["Authorization"] == "Basic Y2tfMDEyMzQ1Njc4OWFiY2RlZjpjc18wMTIzNDU2Nzg5YWJjZGVm"
    assert "Authorization" not in query.headers
    assert query.url.params["consumer_secret"] == "cs_0123456789abcdef"


def test_arguments_are_checked_before_anything_is_sent():
    with pytest.raises(ValueError, match="plain http"):
        WooCommerceClient("http://shop.example", "ck_0123456789abcdef", "cs_0123456789abcdef", timeout=1)
    client = WooCommerceClient("https://shop.example", "ck_0123456789abcdef", "cs_0123456789abcdef", timeout=1)
    with pytest.raises(ValueError, match="per_page"):
        client.pages("orders", per_page=101)
    with pytest.raises(ValueError, match="must not set page"):
        client.pages("orders", params={"page": 3})
    with pytest.raises(ValueError, match="resource"):
        client.get("../wp/v2/users", 1)
    with pytest.raises(ValueError, match="positive integer"):
        client.get("orders", "1; drop")


def test_the_default_timeout_is_the_sink_setting(settings):
    settings.SINK_HTTP_TIMEOUT_SECONDS = 4.5
    assert default_timeout() == 4.5
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json=[])

    WooCommerceClient("https://s.example", "ck_0123456789ab", "cs_x", transport=httpx.MockTransport(answer)).check()
    assert seen == [{"connect": 4.5, "read": 4.5, "write": 4.5, "pool": 4.5}]
