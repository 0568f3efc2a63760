"""The WooCommerce store's REST API (`/wp-json/wc/v3/`), as MemberSync reads it.

    client = WooCommerceClient("https://shop.example", "ck_...", "cs_...", timeout=default_timeout())
    client.check()                                   # the key can read the store, or a StoreError says why not
    client.get("subscriptions", 1300)                # one object, as the store's REST API answers it
    for page in client.pages("memberships/members", start_page=3):   # lazily, so an import can resume
        ...page.number, page.total_pages, page.total, page.items

Authentication is the store's consumer key and secret: HTTP Basic (WooCommerce accepts it over HTTPS only), or
the `consumer_key` / `consumer_secret` query parameters (`query_auth=True`) for servers that strip the
Authorization header. The credentials are added by the transport at the last moment, so they appear in no
exception, log line (httpx logs the request URL) or repr: those name the key only by its last four characters,
as WooCommerce's own admin does.

Errors are one hierarchy: `StoreError`, and below it `StoreAuthError` (401/403: the store refused the key),
`StoreNotFound` (404: no such object, or no such route when a plugin is missing) and `StoreUnavailable`
(timeouts, connection errors, 5xx and 429, with the store's Retry-After as a hint). Each message says which
request (without the secret) and what to do. The client never retries: its callers decide (the worker backs
off, a command reports). It does not follow redirects either: a redirect is reported with where it leads.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from .http import Page, int_header, retry_after_seconds

logger = logging.getLogger(__name__)

API_PATH = "/wp-json/wc/v3/"
MAX_PER_PAGE = 100  # WooCommerce refuses a larger per_page with 400 rest_invalid_param
USER_AGENT = "MemberSync (WooCommerce connector)"

# A resource is a route below wc/v3: "orders", "memberships/members", "orders/727/refunds".
_RESOURCE = re.compile(r"[a-z0-9_-]+(?:/[a-z0-9_-]+)*")
_RESERVED_PARAMS = frozenset({"page", "per_page", "consumer_key", "consumer_secret"})
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def default_timeout() -> float:
    """Seconds one request may take: settings.SINK_HTTP_TIMEOUT_SECONDS, or 10 without it (or without Django)."""
    try:
        from django.conf import settings

        return float(getattr(settings, "SINK_HTTP_TIMEOUT_SECONDS", 10))
    except Exception:  # settings not configured: the client is usable outside Django
        return 10.0


class StoreError(Exception):
    """Talking to the store failed. `url` is the request's address without credentials; `status` the HTTP
    status when there was an answer; `code` WooCommerce's error code (`woocommerce_rest_...`) when it gave one."""

    def __init__(self, message: str, *, url: str, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.url = url
        self.status = status
        self.code = code


class StoreAuthError(StoreError):
    """401 or 403: the store refused the consumer key (wrong key or secret, no read permission, stripped header)."""


class StoreNotFound(StoreError):
    """404: no such object, or (`route_missing`) no such route: WooCommerce, Subscriptions or Memberships absent."""

    @property
    def route_missing(self) -> bool:
        return self.code == "rest_no_route"


class StoreUnavailable(StoreError):
    """The store could not answer now: timeout, connection error, 5xx or 429. Worth trying again later;
    `retry_after` is the store's Retry-After in seconds when it sent one (a hint, never enforced here)."""

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message, url=url, status=status, code=code)
        self.retry_after = retry_after


class _Credentials(httpx.BaseTransport):
    """Adds the consumer key and secret to each request just before it is sent, so that the request the client
    logs, and keeps on its responses and exceptions, never carries them."""

    def __init__(self, inner: httpx.BaseTransport, key: str, secret: str, *, query: bool):
        self._inner = inner
        self._query = query
        self._params = {"consumer_key": key, "consumer_secret": secret}
        self._basic = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode("ascii")

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        headers = request.headers.copy()
        url = request.url
        if self._query:
            url = url.copy_merge_params(self._params)
        else:
            headers["Authorization"] = self._basic
        signed = httpx.Request(
            request.method, url, headers=headers, stream=request.stream, extensions=request.extensions
        )
        return self._inner.handle_request(signed)

    def close(self) -> None:
        self._inner.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} query={self._query}>"


class WooCommerceClient:
    """A store's REST API v3, read-only. Not thread-safe across threads sharing one instance's pages()."""

    def __init__(
        self,
        url: str,
        consumer_key: str,
        consumer_secret: str,
        *,
        timeout: float | None = None,
        transport: httpx.BaseTransport | None = None,
        query_auth: bool = False,
    ):
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the store URL must be the site's address, like https://shop.example (got {url!r})")
        if parts.query or parts.fragment:
            raise ValueError("the store URL must not carry a query or fragment: give the site's address only")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
            raise ValueError(
                f"the store URL {url!r} is plain http: the consumer secret would travel in clear, and WooCommerce "
                "accepts a consumer key over HTTPS only; use https://"
            )
        if not consumer_key or not consumer_secret:
            raise ValueError(
                "a consumer key and a consumer secret are both needed (WooCommerce → Settings → Advanced → REST API)"
            )
        self._timeout = default_timeout() if timeout is None else float(timeout)
        if self._timeout <= 0:
            raise ValueError(f"timeout must be positive seconds (got {timeout!r})")
        self._site = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self._base = self._site + API_PATH
        self._https = parts.scheme == "https"
        self._query_auth = query_auth
        self._key_hint = f"…{consumer_key[-4:]}" if len(consumer_key) >= 12 else "(too short to show)"
        self._secrets = tuple(s for s in {consumer_key, consumer_secret} if s)
        inner = transport if transport is not None else httpx.HTTPTransport()
        self._http = httpx.Client(
            transport=_Credentials(inner, consumer_key, consumer_secret, query=query_auth),
            timeout=httpx.Timeout(self._timeout),
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
        )

    # -- the API -------------------------------------------------------------------------------------------

    def check(self) -> None:
        """Raise a StoreError unless the key can read this store: GET orders?per_page=1 (one row, on every store)."""
        url, response = self._get("orders", {"per_page": 1})
        if not isinstance(self._json(response, url), list):
            raise StoreError(
                f"GET {url} did not answer a list: is this a WooCommerce store?", url=url, status=response.status_code
            )

    def has_route(self, resource: str) -> bool:
        """Whether the store serves this list route, e.g. "memberships/members" only with WooCommerce
        Memberships, "subscriptions" only with WooCommerce Subscriptions. Other failures raise as usual."""
        try:
            self._get(self._resource(resource), {"per_page": 1})
        except StoreNotFound as exc:
            if exc.route_missing:
                return False
            raise
        return True

    def get(self, resource: str, id: int | str) -> dict:
        """One object: get("subscriptions", 1300), get("memberships/members", 19), get("customers", 80)."""
        path = f"{self._resource(resource)}/{self._id(id)}"
        url, response = self._get(path, None)
        data = self._json(response, url)
        if not isinstance(data, dict):
            raise StoreError(
                f"GET {url} answered {type(data).__name__}, not an object", url=url, status=response.status_code
            )
        return data

    def pages(
        self,
        resource: str,
        *,
        per_page: int = MAX_PER_PAGE,
        start_page: int = 1,
        params: Mapping[str, Any] | None = None,
    ) -> Iterator[Page]:
        """The pages of a list route from `start_page` on, each fetched only when the caller asks for it (so an
        interrupted import resumes from the page it had reached). Ends after X-WP-TotalPages, or, when the store
        sends no totals, after a short page. The first page fetched is always yielded, even when empty.

        `params` are the route's own filters (e.g. {"status": "active"}, {"orderby": "id", "order": "asc"}); an
        array filter is given as "plan[]" with a list, as WordPress reads them."""
        path = self._resource(resource)
        if isinstance(per_page, bool) or not isinstance(per_page, int) or not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be 1 to {MAX_PER_PAGE} (got {per_page!r})")
        if isinstance(start_page, bool) or not isinstance(start_page, int) or start_page < 1:
            raise ValueError(f"start_page must be 1 or more (got {start_page!r})")
        extra = dict(params or {})
        reserved = sorted(_RESERVED_PARAMS & set(extra))
        if reserved:
            raise ValueError(f"params must not set {', '.join(reserved)}: pages() sets paging and credentials")
        return self._pages(path, per_page, start_page, extra)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> WooCommerceClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        auth = "query-string" if self._query_auth else "basic"
        return f"<WooCommerceClient {self._base} key {self._key_hint} ({auth} auth)>"

    # -- inside --------------------------------------------------------------------------------------------

    def _pages(self, path: str, per_page: int, number: int, extra: dict) -> Iterator[Page]:
        while True:
            url, response = self._get(path, {**extra, "page": number, "per_page": per_page})
            items = self._json(response, url)
            if not isinstance(items, list):
                raise StoreError(
                    f"GET {url} answered {type(items).__name__}, not a list", url=url, status=response.status_code
                )
            total_pages = int_header(response, "X-WP-TotalPages")
            page = Page(number=number, total_pages=total_pages, total=int_header(response, "X-WP-Total"), items=items)
            yield page
            if (total_pages is not None and number >= total_pages) or (total_pages is None and len(items) < per_page):
                return
            number += 1

    @staticmethod
    def _resource(resource: str) -> str:
        if not isinstance(resource, str) or not _RESOURCE.fullmatch(resource):
            raise ValueError(
                f"resource must be a wc/v3 route like 'orders' or 'memberships/members' (got {resource!r})"
            )
        return resource

    @staticmethod
    def _id(value: int | str) -> str:
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit() or int(value) < 1:
            raise ValueError(f"an object id must be a positive integer (got {value!r})")
        return str(int(value))

    def _public_url(self, path: str, params: Mapping[str, Any] | None) -> str:
        query = urlencode(params, doseq=True) if params else ""
        return self._base + path + (f"?{query}" if query else "")

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def _get(self, path: str, params: Mapping[str, Any] | None) -> tuple[str, httpx.Response]:
        url = self._public_url(path, params)
        try:
            response = self._http.get(self._base + path, params=params)
        except httpx.TimeoutException as exc:
            raise StoreUnavailable(
                f"the store did not answer GET {url} within {self._timeout:g} s ({type(exc).__name__}): it may be "
                "overloaded or down; try again later, or raise SINK_HTTP_TIMEOUT_SECONDS if it is always this slow",
                url=url,
            ) from None
        except httpx.TransportError as exc:
            reason = self._redact(str(exc)) or type(exc).__name__
            raise StoreUnavailable(
                f"could not reach the store for GET {url} ({reason}): check the store's address and that the site "
                "is up",
                url=url,
            ) from None
        logger.debug("GET %s -> %s", url, response.status_code)
        self._raise_for(response, url)
        return url, response

    def _raise_for(self, response: httpx.Response, url: str) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        code, message = self._error_body(response)
        said = f" ({code}: {message})" if code else ""
        if status in (401, 403):
            raise StoreAuthError(
                f"the store refused the consumer key ending in {self._key_hint} for GET {url}: HTTP {status}{said}. "
                + self._auth_hint(code),
                url=url,
                status=status,
                code=code,
            )
        if status == 404:
            if code == "rest_no_route":
                plugin = {"subscriptions": "WooCommerce Subscriptions", "memberships": "WooCommerce Memberships"}
                needs = plugin.get(url[len(self._base) :].split("/", 1)[0].split("?", 1)[0], "WooCommerce")
                text = (
                    f"the store has no route for GET {url} (HTTP 404 rest_no_route): check the store's address, "
                    f"that its permalinks are not 'Plain', and that {needs} is active"
                )
            else:
                text = f"the store has no such object: GET {url} answered HTTP 404{said}"
            raise StoreNotFound(text, url=url, status=status, code=code)
        if status == 429 or status >= 500:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            wait = f"; it asks to wait {retry_after:g} s" if retry_after is not None else ""
            raise StoreUnavailable(
                f"the store answered HTTP {status}{said} to GET {url}{wait}: it is overloaded, in maintenance or "
                "failing; try again later",
                url=url,
                status=status,
                code=code,
                retry_after=retry_after,
            )
        if 300 <= status < 400:
            target = urlsplit(response.headers.get("Location", ""))
            where = f"{target.scheme}://{target.netloc}{target.path}" if target.netloc else "another address"
            raise StoreError(
                f"the store redirects GET {url} to {where} (HTTP {status}): set the connection's store address to "
                "the one it redirects to",
                url=url,
                status=status,
            )
        raise StoreError(f"the store refused GET {url}: HTTP {status}{said}", url=url, status=status, code=code)

    def _auth_hint(self, code: str | None) -> str:
        hint = (
            "Check the consumer key and secret (WooCommerce → Settings → Advanced → REST API) and that the key "
            "has Read permission"
        )
        if not self._query_auth and code in (None, "woocommerce_rest_cannot_view"):
            # An unknown key and a missing Authorization header look the same: the request is anonymous.
            hint += (
                "; if they are right, the web server may strip the Authorization header: connect with "
                "query-string authentication instead"
            )
        if not self._https:
            hint += "; over plain http WooCommerce ignores the key unless the site believes it is served over HTTPS"
        return hint + "."

    def _error_body(self, response: httpx.Response) -> tuple[str | None, str]:
        """WordPress's error object {"code", "message", "data"}, when the answer is one."""
        try:
            body = response.json()
        except ValueError:
            return None, ""
        if not isinstance(body, dict) or not isinstance(body.get("code"), str):
            return None, ""
        message = body.get("message")
        message = re.sub(r"<[^>]+>", "", message).strip() if isinstance(message, str) else ""
        return self._redact(body["code"])[:100], self._redact(message)[:300]

    @staticmethod
    def _json(response: httpx.Response, url: str) -> Any:
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "no Content-Type")
            raise StoreError(
                f"the store answered GET {url} with something that is not JSON ({kind}): is the address the "
                "WordPress site's, and is no security, cache or maintenance plugin answering instead?",
                url=url,
                status=response.status_code,
            ) from None
