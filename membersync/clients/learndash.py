"""A LearnDash site's REST API (`/wp-json/ldlms/v2/`) and the WordPress users route, as MemberSync drives them.

    client = LearnDashClient("https://academy.example", "membersync", "abcd efgh ...", timeout=10)
    info = client.discover()                       # the site's route bases (every segment is a site setting)
    client.check()                                 # the credentials are a LearnDash admin's, or SiteAuthError
    results = client.user_courses_add(42, [101, 102])    # one ItemResult per course, as the site answered it

Authentication is a WordPress application password over HTTP Basic, added by the transport at the last moment so
it appears in no exception, log line or repr (those name the user only). Errors are one hierarchy: `SiteError`,
and below it `SiteAuthError` (401/403), `SiteNotFound` (404), `SiteUnavailable` (timeouts, connection errors,
5xx, 429, with Retry-After) and `SiteRefused` (another 4xx for the whole request). Per-item results are never
errors: LearnDash answers a batch with one result per id (200 always for enrolling; 200/207/422 for removing), and
`ItemResult.ok` says whether the site now holds what was asked ("already enrolled" and "not enrolled" included).

The client never retries and follows no redirects. It can share a `RequestLimiter` between threads: a token
bucket for the requests per second allowed to one site, and a cap on the requests in flight. The limiter lives in
this process only: two worker processes driving the same site each have their own (docs/decisions/0016).
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from .http import Page, int_header, retry_after_seconds

logger = logging.getLogger(__name__)

NAMESPACE = "ldlms/v2"
COMPANION_NAMESPACE = "membersync/v1"
MAX_PER_PAGE = 100
USER_AGENT = "MemberSync (LearnDash connector)"
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

# Route key -> the site's base for it, as LearnDash ships them (each one a setting of the site).
DEFAULT_BASES = {
    "courses": "sfwd-courses",
    "lessons": "sfwd-lessons",
    "topics": "sfwd-topic",
    "quizzes": "sfwd-quiz",
    "groups": "groups",
    "users": "users",
    "user-courses": "courses",
    "user-groups": "groups",
    "group-users": "users",
    "group-leaders": "leaders",
    "group-courses": "courses",
    "course-users": "users",
    "steps": "steps",
    "course-progress": "course-progress",
    "quiz-progress": "quiz-progress",
}
# A nested route key -> the key of the collection it hangs below: <parent base>/<id>/<base>.
PARENTS = {
    "user-courses": "users",
    "user-groups": "users",
    "course-progress": "users",
    "quiz-progress": "users",
    "group-users": "groups",
    "group-leaders": "groups",
    "group-courses": "groups",
    "course-users": "courses",
    "steps": "courses",
}
# The schema title each LearnDash controller gives its route (GET /wp-json/ldlms/v2?context=help), -> route key.
# Post collections are titled by their post type. Read from LearnDash's controllers: user-courses, user-groups,
# group-leaders, course-users; the others follow the same naming and are inferred.
SCHEMA_TITLES = {
    "sfwd-courses": "courses",
    "sfwd-lessons": "lessons",
    "sfwd-topic": "topics",
    "sfwd-quiz": "quizzes",
    "groups": "groups",
    "user-courses": "user-courses",
    "user-groups": "user-groups",
    "group-users": "group-users",
    "group-leaders": "group-leaders",
    "group-courses": "group-courses",
    "course-users": "course-users",
    "course-steps": "steps",
    "user-course-progress": "course-progress",
    "user-quiz-progress": "quiz-progress",
}
STEP_TYPES = {"sfwd-lessons": "lesson", "sfwd-topic": "topic", "sfwd-quiz": "quiz"}

# Per-item codes meaning the site holds what was asked, and codes no retry can change.
OK_CODES = frozenset(
    {
        "learndash_rest_enroll_success",
        "learndash_rest_enroll_failed",  # "already enrolled"
        "learndash_rest_unenroll_success",
        "learndash_rest_unenroll_failed",  # "not enrolled"
        "membersync_access_updated",
    }
)
PERMANENT_CODES = frozenset(
    {
        "learndash_rest_invalid_course_id",
        "learndash_rest_invalid_group_id",
        "learndash_rest_invalid_id",
        "learndash_rest_rejected_course_open",
        "rest_user_invalid_id",
        "membersync_invalid_id",
    }
)


class SiteError(Exception):
    """Talking to the site failed. `url` is the request's address (never the password); `status` the HTTP status
    when there was an answer; `code` LearnDash's or WordPress's error code when it gave one."""

    def __init__(self, message: str, *, url: str, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.url = url
        self.status = status
        self.code = code


class SiteAuthError(SiteError):
    """401 or 403: the site refused the credentials, or they are not a LearnDash admin's."""


class SiteNotFound(SiteError):
    """404: no such object, or no such route (`route_missing`: a base that is not the site's, a plugin missing)."""

    @property
    def route_missing(self) -> bool:
        return self.code == "rest_no_route"


class SiteUnavailable(SiteError):
    """The site could not answer now: timeout, connection error, 5xx or 429; `retry_after` its Retry-After."""

    def __init__(self, message: str, *, url: str, status=None, code=None, retry_after: float | None = None):
        super().__init__(message, url=url, status=status, code=code)
        self.retry_after = retry_after


class SiteRefused(SiteError):
    """Another 4xx for the whole request (400 learndash_rest_invalid_user_id, 406 for an open course ...)."""


@dataclass
class ItemResult:
    """One id of a batch as the site answered it. ok: the site holds what was asked (done, or already so);
    permanent: retrying cannot help (an invalid id, an open course)."""

    id: int
    ok: bool
    permanent: bool
    code: str
    message: str


@dataclass
class SiteInfo:
    bases: dict[str, str]
    has_companion: bool


class RequestLimiter:
    """At most `rate` requests per second and `in_flight` requests at once, shared by the threads of one process
    that talk to one site. Thread-safe. Per process: it does not coordinate with other processes.

    A token bucket holding one token, refilled 5 % slower than `rate`: requests start evenly spaced, and the
    site, which sees them arrive with some jitter, still never counts more than `rate` within any second."""

    HEADROOM = 0.95

    def __init__(self, *, rate: float, in_flight: int):
        if rate <= 0 or in_flight < 1:
            raise ValueError("rate must be positive and in_flight at least 1")
        self.rate = float(rate)
        self.in_flight = int(in_flight)
        self._refill = self.rate * self.HEADROOM
        self._burst = 1.0
        self._tokens = 1.0
        self._last = time.monotonic()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.in_flight)

    def _take_token(self) -> None:
        while True:
            with self._lock:
                moment = time.monotonic()
                self._tokens = min(self._burst, self._tokens + (moment - self._last) * self._refill)
                self._last = moment
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) / self._refill
            time.sleep(wait)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Wait for a free slot, then for a token; the slot is held until the request is answered."""
        with self._slots:
            self._take_token()
            yield


_limiters: dict[str, RequestLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(key: str, *, rate: float, in_flight: int) -> RequestLimiter:
    """The process's one limiter for a site (by key, e.g. the connection name), made anew when its figures change."""
    with _limiters_lock:
        found = _limiters.get(key)
        if found is None or found.rate != float(rate) or found.in_flight != int(in_flight):
            found = _limiters[key] = RequestLimiter(rate=rate, in_flight=in_flight)
        return found


class _Credentials(httpx.BaseTransport):
    """Adds the Authorization header just before sending, so no logged or kept request carries it."""

    def __init__(self, inner: httpx.BaseTransport, user: str, password: str):
        self._inner = inner
        self._basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        headers = request.headers.copy()
        headers["Authorization"] = self._basic
        signed = httpx.Request(
            request.method, request.url, headers=headers, stream=request.stream, extensions=request.extensions
        )
        return self._inner.handle_request(signed)

    def close(self) -> None:
        self._inner.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class LearnDashClient:
    """One LearnDash site. Thread-safe: threads may share one client (and its limiter)."""

    def __init__(
        self,
        url: str,
        user: str,
        app_password: str,
        *,
        timeout: float,
        bases: dict | None = None,
        transport: httpx.BaseTransport | None = None,
        limiter: RequestLimiter | None = None,
    ):
        parts = urlsplit((url or "").strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"the site URL must be the WordPress site's address, like https://academy.example (got {url!r})"
            )
        if parts.query or parts.fragment:
            raise ValueError("the site URL must not carry a query or fragment: give the site's address only")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
            raise ValueError(
                f"the site URL {url!r} is plain http: the application password would travel in clear, and WordPress "
                "accepts application passwords over HTTPS only; use https://"
            )
        if not user or not app_password:
            raise ValueError("a WordPress user name and an application password are both needed (Users → Profile)")
        if timeout is None or float(timeout) <= 0:
            raise ValueError(f"timeout must be positive seconds (got {timeout!r})")
        self._timeout = float(timeout)
        self._site = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self._user = user
        # WordPress shows application passwords in groups of four and ignores the spaces.
        self._secrets = tuple(s for s in {app_password, app_password.replace(" ", "")} if s)
        self.bases = {**DEFAULT_BASES, **(bases or {})}
        self.limiter = limiter
        inner = transport if transport is not None else httpx.HTTPTransport()
        self._http = httpx.Client(
            transport=_Credentials(inner, user, app_password),
            timeout=httpx.Timeout(self._timeout),
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        )

    # -- the site --------------------------------------------------------------------------------------------

    def discover(self) -> SiteInfo:
        """Read the site's REST index: its namespaces (is LearnDash's v2 there, is the companion plugin) and the
        base of each route LearnDash registered (each schema names its controller). Sets self.bases."""
        index = self._json_object("GET", "/wp-json/", None)
        namespaces = index.get("namespaces") or []
        if NAMESPACE not in namespaces:
            raise SiteNotFound(
                f"the site at {self._site} serves no {NAMESPACE} REST namespace: is LearnDash (3.0 or later) active, "
                "and its REST API v2 enabled (LearnDash → Settings → Advanced → REST API)?",
                url=self._site + "/wp-json/",
                code="rest_no_route",
            )
        listing = self._json_object("GET", f"/wp-json/{NAMESPACE}", {"context": "help"})
        found = dict(DEFAULT_BASES)
        prefix = f"/{NAMESPACE}/"
        for route, spec in (listing.get("routes") or {}).items():
            title = ((spec or {}).get("schema") or {}).get("title") if isinstance(spec, dict) else None
            key = SCHEMA_TITLES.get(title or "")
            if key is None or not route.startswith(prefix):
                continue
            parts = route[len(prefix) :].split("/")
            if key in PARENTS and len(parts) == 3 and parts[1].startswith("(?P<id>"):
                found[PARENTS[key]] = parts[0]
                found[key] = parts[2]
            elif key not in PARENTS and len(parts) == 1:
                found[key] = parts[0]
        self.bases = found
        return SiteInfo(bases=dict(found), has_companion=COMPANION_NAMESPACE in namespaces)

    def check(self) -> None:
        """Raise SiteAuthError unless the credentials are accepted and are a LearnDash admin's (WordPress's
        manage_options capability, what learndash_is_admin_user() checks)."""
        me = self._json_object("GET", "/wp-json/wp/v2/users/me", {"context": "edit"})
        capabilities = me.get("capabilities") or {}
        if not capabilities.get("manage_options"):
            roles = ", ".join(me.get("roles") or []) or "none"
            raise SiteAuthError(
                f"the WordPress user {self._user!r} signs in but is not a LearnDash admin (roles: {roles}): LearnDash "
                "lets only administrators enroll users; make the application password for an administrator",
                url=self._site + "/wp-json/wp/v2/users/me",
                status=200,
                code="ld_rest_cannot_view",
            )

    def pages(self, route_key: str, *, start_page: int = 1, parent: int | None = None, **params) -> Iterator[Page]:
        """The pages of a list route from `start_page` on (per_page=100), each fetched when asked for. A nested
        route ("user-courses", "group-users", "steps" ...) takes its parent's id as `parent`."""
        if isinstance(start_page, bool) or not isinstance(start_page, int) or start_page < 1:
            raise ValueError(f"start_page must be 1 or more (got {start_page!r})")
        path = self._route(route_key, parent)
        for reserved in ("page", "per_page"):
            if reserved in params:
                raise ValueError(f"pages() sets {reserved} itself")
        return self._pages(path, start_page, params)

    def course_steps(self, course_id: int) -> list[dict]:
        """A course's lessons, topics and quizzes in the course's order: {"id", "type": lesson|topic|quiz,
        "parent": the lesson or topic it sits in, or None}."""
        tree = self._json_any("GET", self._route("steps", course_id), {"type": "h"})
        steps: list[dict] = []

        def walk(node: Any, parent: int | None) -> None:
            if not isinstance(node, dict):
                return
            for post_type in ("sfwd-lessons", "sfwd-topic", "sfwd-quiz"):
                children = node.get(post_type) or {}
                if isinstance(children, list):  # PHP's empty array
                    children = {}
                for step_id, below in children.items():
                    steps.append({"id": int(step_id), "type": STEP_TYPES[post_type], "parent": parent})
                    walk(below, int(step_id))

        walk(tree, None)
        return steps

    def user_courses(self, user_id: int) -> list[dict]:
        return self._all("user-courses", user_id)

    def user_groups(self, user_id: int) -> list[dict]:
        return self._all("user-groups", user_id)

    def group_users(self, group_id: int) -> list[dict]:
        return self._all("group-users", group_id)

    def group_leaders(self, group_id: int) -> list[dict]:
        return self._all("group-leaders", group_id)

    def group_courses(self, group_id: int) -> list[dict]:
        return self._all("group-courses", group_id)

    def user_courses_add(self, user_id: int, course_ids: Iterable[int]) -> list[ItemResult]:
        return self._batch("POST", "user-courses", user_id, "course_ids", course_ids, "course_id")

    def user_courses_remove(self, user_id: int, course_ids: Iterable[int]) -> list[ItemResult]:
        return self._batch("DELETE", "user-courses", user_id, "course_ids", course_ids, "course_id")

    def user_groups_add(self, user_id: int, group_ids: Iterable[int]) -> list[ItemResult]:
        return self._batch("POST", "user-groups", user_id, "group_ids", group_ids, "group_id")

    def user_groups_remove(self, user_id: int, group_ids: Iterable[int]) -> list[ItemResult]:
        return self._batch("DELETE", "user-groups", user_id, "group_ids", group_ids, "group_id")

    def group_leaders_add(self, group_id: int, user_ids: Iterable[int]) -> list[ItemResult]:
        return self._batch("POST", "group-leaders", group_id, "user_ids", user_ids, "user_id")

    def group_leaders_remove(self, group_id: int, user_ids: Iterable[int]) -> list[ItemResult]:
        return self._batch("DELETE", "group-leaders", group_id, "user_ids", user_ids, "user_id")

    def course_progress(self, user_id: int, course_id: int | None = None) -> list[dict]:
        if course_id is None:
            return self._all("course-progress", user_id)
        path = f"{self._route('course-progress', user_id)}/{_positive(course_id)}"
        data = self._json_any("GET", path, None)
        return data if isinstance(data, list) else [data]

    def quiz_progress(self, user_id: int) -> list[dict]:
        return self._all("quiz-progress", user_id)

    def user_find_by_email(self, email: str) -> dict | None:
        """The WordPress user with exactly this email (case-insensitive), or None. WordPress's users route
        searches the email column when the search term has an @; context=edit returns the email to compare."""
        wanted = (email or "").strip().lower()
        if "@" not in wanted:
            raise ValueError(f"an email address is needed to find a WordPress user (got {email!r})")
        found = self._json_any(
            "GET", "/wp-json/wp/v2/users", {"search": wanted, "context": "edit", "per_page": MAX_PER_PAGE}
        )
        for user in found if isinstance(found, list) else []:
            if isinstance(user, dict) and (user.get("email") or "").strip().lower() == wanted:
                return user
        return None

    def user_create(self, *, email: str, username: str, first_name: str = "", last_name: str = "") -> dict:
        """Create a WordPress user (role: the site's default) with a random password the person never needs:
        they sign in through "Lost your password?" or the site's own login. Raises SiteRefused with
        existing_user_email / existing_user_login when taken."""
        body = {
            "username": username,
            "email": email,
            "password": secrets.token_urlsafe(24),
            "first_name": first_name,
            "last_name": last_name,
        }
        return self._json_object("POST", "/wp-json/wp/v2/users", None, body=body)

    def companion_status(self) -> dict:
        return self._json_object("GET", f"/wp-json/{COMPANION_NAMESPACE}/status", None)

    def companion_access(self, user_id: int, items: list[dict]) -> list[ItemResult]:
        """The companion plugin's access route: items {"kind": course|group, "id", "status": active|suspended,
        "access_from": unix seconds or None}. One result per item (its id is the item's)."""
        path = f"/wp-json/{COMPANION_NAMESPACE}/users/{_positive(user_id)}/access"
        data = self._json_any("POST", path, None, body={"items": items})
        rows = data.get("items", data) if isinstance(data, dict) else data
        return [_item(row, "id") for row in rows if isinstance(row, dict)]

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LearnDashClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<LearnDashClient {self._site} user {self._user!r}>"

    # -- inside ----------------------------------------------------------------------------------------------

    def _route(self, key: str, parent: int | None) -> str:
        if key not in self.bases:
            raise ValueError(f"unknown LearnDash route {key!r}: one of {', '.join(sorted(self.bases))}")
        if key in PARENTS:
            if parent is None:
                raise ValueError(f"route {key!r} needs its {PARENTS[key]} id as parent")
            return f"/wp-json/{NAMESPACE}/{self.bases[PARENTS[key]]}/{_positive(parent)}/{self.bases[key]}"
        return f"/wp-json/{NAMESPACE}/{self.bases[key]}"

    def _all(self, key: str, parent: int) -> list[dict]:
        return [item for page in self.pages(key, parent=parent) for item in page.items]

    def _pages(self, path: str, number: int, params: dict) -> Iterator[Page]:
        while True:
            response, url = self._send("GET", path, {**params, "page": number, "per_page": MAX_PER_PAGE})
            items = self._decode(response, url)
            if not isinstance(items, list):
                raise SiteError(f"GET {url} answered {type(items).__name__}, not a list", url=url)
            total_pages = int_header(response, "X-WP-TotalPages")
            yield Page(number, total_pages, int_header(response, "X-WP-Total"), items)
            last = number >= total_pages if total_pages is not None else len(items) < MAX_PER_PAGE
            if last:
                return
            number += 1

    def _batch(self, method, key, parent, field_name, ids, id_key) -> list[ItemResult]:
        ids = [_positive(i) for i in ids]
        if not ids:
            return []
        # DELETE answers 207 (some done) and 422 (none done) with the same per-item array as 200.
        response, url = self._send(method, self._route(key, parent), None, body={field_name: ids}, per_item=True)
        data = self._decode(response, url)
        if not isinstance(data, list):
            raise SiteError(f"{method} {url} answered {type(data).__name__}, not per-item results", url=url)
        return [_item(row, id_key) for row in data if isinstance(row, dict)]

    def _json_object(self, method: str, path: str, params, *, body=None) -> dict:
        data = self._json_any(method, path, params, body=body)
        if not isinstance(data, dict):
            raise SiteError(f"{method} {self._site}{path} answered {type(data).__name__}, not an object", url=path)
        return data

    def _json_any(self, method: str, path: str, params, *, body=None) -> Any:
        response, url = self._send(method, path, params, body=body)
        return self._decode(response, url)

    def _send(self, method, path, params, *, body=None, per_item=False) -> tuple[httpx.Response, str]:
        url = self._site + path + (f"?{urlencode(params, doseq=True)}" if params else "")
        said = f"{method} {url}"
        if self.limiter is not None:
            with self.limiter.slot():
                response = self._call(method, path, params, body, said, url)
        else:
            response = self._call(method, path, params, body, said, url)
        logger.debug("%s -> %s", said, response.status_code)
        if per_item and response.status_code in (207, 422):
            return response, url
        self._raise_for(response, said, url)
        return response, url

    def _call(self, method, path, params, body, said, url) -> httpx.Response:
        try:
            return self._http.request(method, self._site + path, params=params, json=body)
        except httpx.TimeoutException as exc:
            raise SiteUnavailable(
                f"the site did not answer {said} within {self._timeout:g} s ({type(exc).__name__}): it may be "
                "overloaded or down; it will be tried again later",
                url=url,
            ) from None
        except httpx.TransportError as exc:
            reason = self._redact(str(exc)) or type(exc).__name__
            raise SiteUnavailable(
                f"could not reach the site for {said} ({reason}): check its address and that it is up", url=url
            ) from None

    def _raise_for(self, response: httpx.Response, said: str, url: str) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        code, message = self._error_body(response)
        told = f" ({code}: {message})" if code else ""
        if status in (401, 403):
            raise SiteAuthError(
                f"the site refused {said} for the WordPress user {self._user!r}: HTTP {status}{told}. Check the "
                "user name and application password (Users → Profile → Application Passwords), that the user is an "
                "administrator, and that no security plugin or server strips the Authorization header",
                url=url,
                status=status,
                code=code,
            )
        if status == 404:
            raise SiteNotFound(f"the site answered {said} with HTTP 404{told}", url=url, status=status, code=code)
        if status == 429 or status >= 500:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            wait = f"; it asks to wait {retry_after:g} s" if retry_after is not None else ""
            raise SiteUnavailable(
                f"the site answered {said} with HTTP {status}{told}{wait}: overloaded, in maintenance or failing",
                url=url,
                status=status,
                code=code,
                retry_after=retry_after,
            )
        if 300 <= status < 400:
            target = urlsplit(response.headers.get("Location", ""))
            where = f"{target.scheme}://{target.netloc}{target.path}" if target.netloc else "another address"
            raise SiteError(
                f"the site redirects {said} to {where} (HTTP {status}): set the connection's address to that one",
                url=url,
                status=status,
            )
        raise SiteRefused(f"the site refused {said}: HTTP {status}{told}", url=url, status=status, code=code)

    def _error_body(self, response: httpx.Response) -> tuple[str | None, str]:
        """WordPress's error object, or LearnDash 5's bare {"code", "message"}."""
        try:
            body = response.json()
        except ValueError:
            return None, ""
        if not isinstance(body, dict) or not isinstance(body.get("code"), str):
            return None, ""
        message = body.get("message")
        message = re.sub(r"<[^>]+>", "", message).strip() if isinstance(message, str) else ""
        return self._redact(body["code"])[:100], self._redact(message)[:300]

    def _decode(self, response: httpx.Response, url: str) -> Any:
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "no Content-Type")
            raise SiteError(
                f"the site answered {url} with something that is not JSON ({kind}): is the address the WordPress "
                "site's, and is no security, cache or maintenance plugin answering instead?",
                url=url,
                status=response.status_code,
            ) from None

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text


def _item(row: dict, id_key: str) -> ItemResult:
    code = str(row.get("code") or "")
    done = row.get("status") == "success" or code in OK_CODES
    raw_id = row.get(id_key, row.get("id", 0))
    try:
        item_id = int(raw_id)
    except (TypeError, ValueError):
        item_id = 0
    return ItemResult(
        id=item_id,
        ok=done,
        permanent=not done and code in PERMANENT_CODES,
        code=code,
        message=str(row.get("message") or ""),
    )


def _positive(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit() or int(value) < 1:
        raise ValueError(f"an id must be a positive integer (got {value!r})")
    return int(value)
