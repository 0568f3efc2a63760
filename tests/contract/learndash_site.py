"""A LearnDash 5.0.5 site on loopback, behaving as its REST API v2 does. For tests and benchmarks only: the product
never imports this module (a benchmark runs it as its own process: `python tests/contract/learndash_site.py`).

    with LearnDashSite() as site:                     # http://127.0.0.1:PORT/wp-json/...
        course = site.course(title="Intro")          # closed by default; price_type="open" refuses enrollment
        group = site.group(title="Acme", courses=[course])
        ada = site.user(email="ada@example.com")
        client = LearnDashClient(site.url, site.username, site.app_password, timeout=5)
        client.user_courses_add(ada, [course])
        site.enrolled(ada)  # {course}; site.access_from(ada, course) -> unix seconds

Where the behaviour comes from: ../shared/DOMAIN.md ("LearnDash REST v2, as its 5.0.5 code behaves"),
../shared/protocols/learndash-users-courses-post-shape.md, and LearnDash's controllers (users-courses,
users-groups, groups-leaders: per-item shapes, codes and statuses). Details marked "inferred" are not documented.

Routes (bases configurable, `bases={"users": "students", ...}`, read back from the REST index)
- GET /wp-json/ (namespaces: wp/v2, ldlms/v1, ldlms/v2, and membersync/v1 with `companion=True`) and
  GET /wp-json/ldlms/v2 (each route; with ?context=help its schema, titled as LearnDash's controllers title them).
- ldlms/v2: courses, groups, lessons, topics, quizzes and users lists and objects; users/<id>/courses (GET, POST,
  DELETE), users/<id>/groups (GET, POST, DELETE), users/<id>/course-progress[/<course>], users/<id>/quiz-progress,
  groups/<id>/users, groups/<id>/leaders (GET, POST, DELETE user_ids), groups/<id>/courses (GET, POST, DELETE
  course_ids), sfwd-courses/<id>/steps (?type=h: the hierarchy; t: by type; l: linear), sfwd-courses/<id>/users
  (GET, POST, DELETE user_ids; 406 for an open course: status inferred from DOMAIN.md, code inferred).
- Per-item results `{<kind>_id, status: success|failed, code, message}`: POST users/<id>/courses answers 200
  always; its DELETE answers 200 (all done), 207 (some) or 422 (none); the other batch routes 200. Whole-request
  errors: users/<id>/courses POST 400 with LearnDash 5's bare {"code", "message"} (invalid user, admin
  auto-enroll, missing course ids); everywhere else WordPress's error object with 404, as the controllers do.
- Lists: page, per_page (default 10, at most 100, else 400 rest_invalid_param), X-WP-Total, X-WP-TotalPages.
- Auth: application passwords over Basic (spaces ignored). No credentials: 401 ld_rest_cannot_view on LearnDash's
  routes (rest_not_logged_in on wp/v2/users/me); a wrong password 401 incorrect_password; an unknown user 401
  invalid_username; a user who is not an administrator 403 ld_rest_cannot_view.
- wp/v2/users: GET ?search= (an @ searches the email column; context=edit shows emails), GET users/me, POST create
  (username, email, password required; 400 existing_user_login / existing_user_email).
- membersync/v1 (the companion plugin, with `companion=True`): POST users/<id>/access, GET status.

Enrolling writes user meta course_<id>_access_from = the course's start date if it has one, else now, only when it
is empty (enrolling an enrolled user is "already enrolled", with no effect); unenrolling deletes it and keeps
progress. `access_from_writes` counts every write per (user, course): a re-enroll that restarted a drip shows.

Failures and measures: `latency` (seconds per request), `max_in_flight` (beyond it: 503, and `peak_in_flight`
counts the most at once), `fail_next(n, status, retry_after=, after_effect=)`, `fail_fraction(p, seed=,
after_effect_share=)` (a failure after the effect is the site doing the work but the answer being lost),
`timeout_next(n, seconds)`, `revoke()` / `restore()` the application password, and `requests` (method, route key,
path, start and end on time.monotonic(), status) with `count()` and `most_in_window(seconds)`.
"""

from __future__ import annotations

import base64
import json
import random
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

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
NESTED = {  # key -> (parent key, schema title)
    "user-courses": ("users", "user-courses"),
    "user-groups": ("users", "user-groups"),
    "course-progress": ("users", "user-course-progress"),
    "quiz-progress": ("users", "user-quiz-progress"),
    "group-users": ("groups", "group-users"),
    "group-leaders": ("groups", "group-leaders"),
    "group-courses": ("groups", "group-courses"),
    "course-users": ("courses", "course-users"),
    "steps": ("courses", "course-steps"),
}
POST_TYPES = {"courses": "sfwd-courses", "lessons": "sfwd-lessons", "topics": "sfwd-topic", "quizzes": "sfwd-quiz"}
POST_TYPES["groups"] = "groups"
STEP_POST_TYPES = {"lesson": "sfwd-lessons", "topic": "sfwd-topic", "quiz": "sfwd-quiz"}
PRICE_TYPES = ("open", "closed", "free", "paynow", "subscribe")


@dataclass
class _Post:
    id: int
    post_type: str
    title: str
    created: datetime
    price_type: str = "closed"
    course_start_date: int | None = None  # unix seconds
    expire_access: bool = False
    expire_access_days: int = 0
    course: int | None = None  # a step's course
    parent: int | None = None  # a topic's lesson, a quiz's lesson or topic
    courses: list[int] = field(default_factory=list)  # a group's courses, in the order added


@dataclass
class _User:
    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    roles: list[str]
    registered: datetime
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestRecord:
    method: str
    route: str  # the route key ("user-courses", "wp-users", "index" ...) or the raw path when unknown
    path: str
    started: float  # time.monotonic()
    ended: float
    status: int | None  # None: the connection was dropped or the answer withheld past the client's timeout


class LearnDashSite:
    def __init__(
        self,
        *,
        username: str = "membersync",
        app_password: str | None = None,
        admin: bool = True,
        bases: dict[str, str] | None = None,
        companion: bool = False,
        latency: float = 0.0,
        max_in_flight: int | None = None,
        utc_offset_hours: float = 0.0,
        admin_auto_enroll: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.username = username
        self.app_password = app_password or " ".join(secrets.token_hex(12)[i : i + 4] for i in range(0, 24, 4))
        self.bases = {**DEFAULT_BASES, **(bases or {})}
        self.companion = companion
        self.latency = latency
        self.max_in_flight = max_in_flight
        self.utc_offset = timedelta(hours=utc_offset_hours)
        self.admin_auto_enroll = admin_auto_enroll
        self._host, self._port = host, port
        self._lock = threading.RLock()
        self._posts: dict[int, _Post] = {}
        self._users: dict[int, _User] = {}
        self._next_post, self._next_user = 100, 2
        self._clock: datetime | None = None
        self._revoked = False
        self._progress: dict[tuple[int, int], dict] = {}
        self._quiz_attempts: dict[int, list[dict]] = {}
        self._failures: list[tuple] = []  # queued (kind, status, retry_after, after_effect, seconds)
        self._fraction: tuple[float, random.Random, float, int] | None = None
        self._suspended: set[tuple[str, int, int]] = set()  # companion: (kind, user, id) blocked
        self.requests: list[RequestRecord] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self.access_from_writes: Counter[tuple[int, int]] = Counter()
        self.effects: list[tuple[str, int, int]] = []  # (what, user, course or group) for every change made
        me = self.user(
            username=username, email=f"{username}@site.example", roles=["administrator" if admin else "editor"]
        )
        self.admin_id = me
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- serving -------------------------------------------------------------------------------------------------

    def start(self) -> LearnDashSite:
        if self._server is None:
            site = self

            class Handler(_Handler):
                pass

            Handler.site = site
            self._server = ThreadingHTTPServer((self._host, self._port), Handler)
            self._server.daemon_threads = True
            self._server.request_queue_size = 128
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> LearnDashSite:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- the clock -----------------------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self._clock or datetime.now(UTC).replace(microsecond=0)

    def set_time(self, moment: datetime | None) -> None:
        self._clock = moment

    # -- content -------------------------------------------------------------------------------------------------

    def _post_id(self, wanted: int | None) -> int:
        if wanted is None:
            self._next_post += 1
            while self._next_post in self._posts:
                self._next_post += 1
            return self._next_post
        if wanted in self._posts:
            raise ValueError(f"post {wanted} exists")
        return wanted

    def course(
        self,
        *,
        id: int | None = None,
        title: str = "A course",
        price_type: str = "closed",
        course_start_date: datetime | None = None,
        expire_access: bool = False,
        expire_access_days: int = 0,
    ) -> int:
        if price_type not in PRICE_TYPES:
            raise ValueError(f"price_type is one of {PRICE_TYPES}")
        with self._lock:
            pid = self._post_id(id)
            start = int(course_start_date.timestamp()) if course_start_date else None
            self._posts[pid] = _Post(
                pid, "sfwd-courses", title, self.now(), price_type, start, expire_access, expire_access_days
            )
            return pid

    def step(self, course: int, kind: str, *, title: str = "", parent: int | None = None) -> int:
        with self._lock:
            pid = self._post_id(None)
            self._posts[pid] = _Post(pid, STEP_POST_TYPES[kind], title or f"{kind} {pid}", self.now(), course=course)
            self._posts[pid].parent = parent
            return pid

    def group(self, *, id: int | None = None, title: str = "A group", courses: Iterable[int] = ()) -> int:
        with self._lock:
            pid = self._post_id(id)
            self._posts[pid] = _Post(pid, "groups", title, self.now(), courses=list(courses))
            return pid

    def user(
        self,
        *,
        id: int | None = None,
        email: str = "",
        username: str = "",
        first_name: str = "",
        last_name: str = "",
        roles: list[str] | None = None,
    ) -> int:
        with self._lock:
            if id is None:
                while self._next_user in self._users:
                    self._next_user += 1
                id = self._next_user
            username = username or email or f"user{id}"
            self._users[id] = _User(id, username, email, first_name, last_name, roles or ["subscriber"], self.now())
            return id

    def delete_user(self, user_id: int) -> None:
        with self._lock:
            del self._users[user_id]

    def progress(self, user: int, course: int, **fields) -> None:
        with self._lock:
            self._progress[(user, course)] = fields

    def quiz_attempt(self, user: int, **fields) -> None:
        with self._lock:
            self._quiz_attempts.setdefault(user, []).append(fields)

    # -- state as LearnDash keeps it (user meta) --------------------------------------------------------------------

    def enroll(self, user: int, course: int) -> bool:
        """ld_update_course_access(user, course): writes access_from only when empty. True when it changed."""
        with self._lock:
            meta = self._users[user].meta
            key = f"course_{course}_access_from"
            if meta.get(key):
                return False
            start = self._posts[course].course_start_date
            meta[key] = start or int(self.now().timestamp())
            self.access_from_writes[(user, course)] += 1
            self.effects.append(("enroll", user, course))
            return True

    def unenroll(self, user: int, course: int) -> bool:
        with self._lock:
            if self._users[user].meta.pop(f"course_{course}_access_from", None) is None:
                return False
            self.effects.append(("unenroll", user, course))
            return True

    def join_group(self, user: int, group: int, *, leader: bool = False) -> bool:
        with self._lock:
            key = f"learndash_group_{'leaders' if leader else 'users'}_{group}"
            if self._users[user].meta.get(key):
                return False
            self._users[user].meta[key] = int(self.now().timestamp())
            self.effects.append(("lead" if leader else "join", user, group))
            return True

    def leave_group(self, user: int, group: int, *, leader: bool = False) -> bool:
        with self._lock:
            key = f"learndash_group_{'leaders' if leader else 'users'}_{group}"
            if self._users[user].meta.pop(key, None) is None:
                return False
            self.effects.append(("unlead" if leader else "leave", user, group))
            return True

    def enrolled(self, user: int) -> set[int]:
        """The courses the user is enrolled in directly (has access_from)."""
        with self._lock:
            found = set()
            for key in self._users[user].meta:
                if match := re.fullmatch(r"course_(\d+)_access_from", key):
                    found.add(int(match.group(1)))
            return found

    def access_from(self, user: int, course: int) -> int | None:
        with self._lock:
            return self._users[user].meta.get(f"course_{course}_access_from")

    def groups_of(self, user: int, *, leader: bool = False) -> set[int]:
        with self._lock:
            kind = "leaders" if leader else "users"
            return {
                int(m.group(1))
                for key in self._users[user].meta
                if (m := re.fullmatch(rf"learndash_group_{kind}_(\d+)", key))
            }

    def suspended(self, user: int) -> set[tuple[str, int]]:
        """What the companion plugin blocks for this user: (kind, id)."""
        with self._lock:
            return {(kind, target) for kind, who, target in self._suspended if who == user}

    def user_by_email(self, email: str) -> int | None:
        with self._lock:
            for user in self._users.values():
                if user.email.lower() == email.lower():
                    return user.id
            return None

    def user_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._users)

    def _course_ids_of(self, user: int) -> list[int]:
        """learndash_user_get_enrolled_courses: direct, through groups, and open courses."""
        found = set(self.enrolled(user))
        for group in self.groups_of(user):
            found.update(self._posts[group].courses if group in self._posts else [])
        found.update(p.id for p in self._posts.values() if p.post_type == "sfwd-courses" and p.price_type == "open")
        return sorted(found)

    # -- failures ----------------------------------------------------------------------------------------------------

    def fail_next(self, n: int = 1, *, status: int = 503, retry_after: float | None = None, after_effect=False):
        with self._lock:
            self._failures.extend([("status", status, retry_after, after_effect, 0.0)] * n)

    def timeout_next(self, n: int = 1, *, seconds: float = 2.0) -> None:
        """The next n requests are answered only after `seconds` (the client times out first)."""
        with self._lock:
            self._failures.extend([("slow", 0, None, False, seconds)] * n)

    def fail_fraction(self, fraction: float, *, seed: int = 0, after_effect_share: float = 0.0, status=503) -> None:
        """Fail about `fraction` of the requests from now on (0 stops it); `after_effect_share` of those fail only
        after the change was made (500 with WordPress's critical-error object)."""
        with self._lock:
            self._fraction = (fraction, random.Random(seed), after_effect_share, status) if fraction else None

    def revoke(self) -> None:
        """The application password is revoked: every request with it is 401 incorrect_password."""
        self._revoked = True

    def restore(self) -> None:
        self._revoked = False

    # -- counters ----------------------------------------------------------------------------------------------------

    def count(self, method: str | None = None, route: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for r in self.requests
                if (method is None or r.method == method) and (route is None or r.route == route)
            )

    def most_in_window(self, seconds: float = 1.0) -> int:
        """The most requests that started within any window of `seconds` (half-open)."""
        with self._lock:
            starts = sorted(r.started for r in self.requests)
        most, first = 0, 0
        for last, moment in enumerate(starts):
            while moment - starts[first] >= seconds:
                first += 1
            most = max(most, last - first + 1)
        return most

    def stats(self) -> dict:
        with self._lock:
            return {
                "requests": len(self.requests),
                "by_route": dict(Counter(f"{r.method} {r.route}" for r in self.requests)),
                "statuses": dict(Counter(str(r.status) for r in self.requests)),
                "peak_in_flight": self.peak_in_flight,
                "most_in_1s": self.most_in_window(1.0),
                "first_start": min((r.started for r in self.requests), default=None),
                "last_end": max((r.ended for r in self.requests), default=None),
                "enrollments": sum(len(self.enrolled(u)) for u in self._users),
                "reenrolls": sum(1 for n in self.access_from_writes.values() if n > 1),
            }

    # -- answering ---------------------------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        started = time.monotonic()
        parts = urlsplit(handler.path)
        path = parts.path.rstrip("/") or "/"
        if path == "/wp-json":
            path = "/wp-json/"
        query = {k: v for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            crowded = self.max_in_flight is not None and self.in_flight > self.max_in_flight
            failure = self._failures.pop(0) if self._failures else None
            if failure is None and self._fraction and not path.startswith("/__fixture__"):
                fraction, rng, after_share, fstatus = self._fraction
                if rng.random() < fraction:
                    after = rng.random() < after_share
                    failure = ("status", 500 if after else fstatus, None, after, 0.0)
        route, status = _route_key(self, handler.command, path), None
        try:
            if self.latency:
                time.sleep(self.latency)
            if crowded:
                status, headers, body = _error(
                    503, "too_busy", "Too many requests in progress.", [("Retry-After", "1")]
                )
            elif failure and failure[0] == "slow":
                time.sleep(failure[4])
                status, headers, body = self._answer(handler, path, query, raw)
            elif failure and not failure[3]:
                status, headers, body = _injected(failure[1], failure[2])
            else:
                status, headers, body = self._answer(handler, path, query, raw)
                if failure:  # after the effect: the work is done, the answer lost
                    status, headers, body = _injected(failure[1], failure[2])
            try:
                handler.send_response(status)
                for name, value in headers:
                    handler.send_header(name, value)
                handler.send_header("Content-Length", str(len(body)))
                handler.end_headers()
                handler.wfile.write(body)
                handler.wfile.flush()
            except OSError:
                status = None
        finally:
            with self._lock:
                self.in_flight -= 1
                if route != "fixture":  # the benchmark's own handle is not the client's traffic
                    self.requests.append(RequestRecord(handler.command, route, path, started, time.monotonic(), status))

    def _authenticate(self, handler) -> tuple[_User | None, tuple | None]:
        header = handler.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None, None
        try:
            name, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None, (401, "rest_authentication_error", "Malformed Authorization header.")
        user = next((u for u in self._users.values() if u.username == name or u.email == name), None)
        if user is None:
            return None, (401, "invalid_username", "Unknown username. Check again or try your email address.")
        if (
            self._revoked
            or user.username != self.username
            or password.replace(" ", "") != self.app_password.replace(" ", "")
        ):
            return None, (401, "incorrect_password", "The provided password is an invalid application password.")
        return user, None

    def _answer(self, handler, path: str, query: dict, raw: bytes) -> tuple[int, list, bytes]:
        method = handler.command
        if path.startswith("/__fixture__/"):
            return self._control(method, path, raw)
        if not path.startswith("/wp-json/"):
            return 404, [("Content-Type", "text/html")], b"<html><body>Not Found</body></html>"
        user, auth_error = self._authenticate(handler)
        if auth_error:
            return _error(*auth_error)
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return _error(400, "rest_invalid_json", "Invalid JSON body passed.")
        if not isinstance(body, dict):
            body = {}
        for name, values in query.items():  # WordPress merges the query into the request's params
            key = name[:-2] if name.endswith("[]") else name
            body.setdefault(key, values if name.endswith("[]") else values[-1])
        with self._lock:
            if path == "/wp-json/":
                return self._index()
            if path == "/wp-json/ldlms/v2":
                return self._namespace_index(body.get("context") == "help")
            if path.startswith("/wp-json/wp/v2/users"):
                return self._wp_users(method, path, body, user)
            if path.startswith("/wp-json/membersync/v1/") and self.companion:
                return self._companion(method, path, body, user)
            if path.startswith("/wp-json/ldlms/v2/"):
                return self._ldlms(method, path[len("/wp-json/ldlms/v2/") :], body, user)
            return _no_route()

    def _control(self, method: str, path: str, raw: bytes) -> tuple[int, list, bytes]:
        """The benchmark's handle on a site in another process (not a LearnDash route)."""
        with self._lock:
            if path == "/__fixture__/stats":
                return _json(200, self.stats())
            if path == "/__fixture__/seed" and method == "POST":
                spec = json.loads(raw or b"{}")
                courses = [self.course(title=f"Course {i}") for i in range(spec.get("courses", 0))]
                users = [self.user(email=f"s{i}@bench.example") for i in range(spec.get("users", 0))]
                return _json(200, {"courses": courses, "users": users})
        return _no_route()

    # -- indexes ----------------------------------------------------------------------------------------------------

    def _routes(self) -> dict[str, tuple[str, list[str]]]:
        """route pattern -> (schema title, methods)."""
        b = self.bases
        found = {}
        for key, post_type in POST_TYPES.items():
            found[f"/ldlms/v2/{b[key]}"] = (post_type, ["GET", "POST"])
            found[f"/ldlms/v2/{b[key]}/(?P<id>[\\d]+)"] = (post_type, ["GET", "POST", "PUT", "PATCH", "DELETE"])
        found[f"/ldlms/v2/{b['users']}"] = ("users", ["GET"])
        for key, (parent, title) in NESTED.items():
            methods = ["GET"] if key in ("course-progress", "quiz-progress", "steps") else ["GET", "POST", "DELETE"]
            found[f"/ldlms/v2/{b[parent]}/(?P<id>[\\d]+)/{b[key]}"] = (title, methods)
        return found

    def _index(self) -> tuple[int, list, bytes]:
        namespaces = ["oembed/1.0", "ldlms/v1", "ldlms/v2", "wp/v2", "wp-site-health/v1"]
        if self.companion:
            namespaces.append("membersync/v1")
        return _json(
            200,
            {
                "name": "Academy",
                "description": "",
                "url": self.url,
                "home": self.url,
                "gmt_offset": self.utc_offset.total_seconds() / 3600,
                "timezone_string": "",
                "namespaces": namespaces,
                "authentication": {"application-passwords": {"endpoints": {"authorization": f"{self.url}/wp-admin/"}}},
                "routes": {"/": {"namespace": "", "methods": ["GET"]}},
            },
        )

    def _namespace_index(self, help_context: bool) -> tuple[int, list, bytes]:
        routes = {"/ldlms/v2": {"namespace": "ldlms/v2", "methods": ["GET"], "endpoints": [{"methods": ["GET"]}]}}
        for pattern, (title, methods) in self._routes().items():
            entry: dict[str, Any] = {
                "namespace": "ldlms/v2",
                "methods": methods,
                "endpoints": [{"methods": [m], "args": {}} for m in methods],
            }
            if help_context:
                entry["schema"] = {"$schema": "http://json-schema.org/draft-04/schema#", "title": title}
            routes[pattern] = entry
        return _json(
            200, {"namespace": "ldlms/v2", "routes": routes, "_links": {"up": [{"href": f"{self.url}/wp-json/"}]}}
        )

    # -- ldlms/v2 ----------------------------------------------------------------------------------------------------

    def _ldlms(self, method: str, route: str, body: dict, user: _User | None) -> tuple[int, list, bytes]:
        b = self.bases
        segments = route.split("/")
        if user is None or "administrator" not in user.roles:
            status = 401 if user is None else 403
            return _error(status, "ld_rest_cannot_view", "Sorry, you are not allowed to view this item.")
        collections = {b[k]: k for k in POST_TYPES}
        if len(segments) == 1:
            if segments[0] == b["users"] and method == "GET":
                return self._list([self._user_json(u) for u in self._users.values()], body)
            key = collections.get(segments[0])
            if key and method == "GET":
                rows = [self._post_json(p) for p in self._posts.values() if p.post_type == POST_TYPES[key]]
                return self._list(rows, body)
            return _no_route()
        if len(segments) == 2 and segments[1].isdigit() and segments[0] in collections and method == "GET":
            post = self._posts.get(int(segments[1]))
            if post is None or post.post_type != POST_TYPES[collections[segments[0]]]:
                return _error(404, "rest_post_invalid_id", "Invalid post ID.")
            return _json(200, self._post_json(post))
        if len(segments) >= 3 and segments[1].isdigit():
            owner, sub = int(segments[1]), segments[2]
            rest = segments[3:]
            if segments[0] == b["users"]:
                if sub == b["user-courses"] and not rest:
                    return self._user_courses(method, owner, body)
                if sub == b["user-groups"] and not rest:
                    return self._user_groups(method, owner, body)
                if sub == b["course-progress"] and method == "GET" and len(rest) <= 1:
                    return self._course_progress(owner, int(rest[0]) if rest and rest[0].isdigit() else None, body)
                if sub == b["quiz-progress"] and method == "GET" and not rest:
                    return self._list(list(self._quiz_attempts.get(owner, [])), body)
            if segments[0] == b["groups"] and not rest:
                if sub == b["group-users"]:
                    return self._group_people(method, owner, body, leader=False)
                if sub == b["group-leaders"]:
                    return self._group_people(method, owner, body, leader=True)
                if sub == b["group-courses"]:
                    return self._group_courses(method, owner, body)
            if segments[0] == b["courses"] and not rest:
                if sub == b["steps"] and method == "GET":
                    return self._steps(owner, body.get("type") or "h")
                if sub == b["course-users"]:
                    return self._course_users(method, owner, body)
        return _no_route()

    def _list(self, rows: list, params: dict) -> tuple[int, list, bytes]:
        try:
            page = int(params.get("page") or 1)
            per_page = int(params.get("per_page") or 10)
        except ValueError:
            return _error(400, "rest_invalid_param", "Invalid parameter(s): page")
        if not 1 <= per_page <= 100:
            return _error(400, "rest_invalid_param", "Invalid parameter(s): per_page")
        total = len(rows)
        pages = max(1, -(-total // per_page))
        if page > pages and total:
            return _error(
                400,
                "rest_post_invalid_page_number",
                "The page number requested is larger than the number of pages available.",
            )
        chunk = rows[(page - 1) * per_page : page * per_page]
        return _json(200, chunk, [("X-WP-Total", str(total)), ("X-WP-TotalPages", str(pages))])

    def _date(self, moment: datetime) -> tuple[str, str]:
        gmt = moment.astimezone(UTC).replace(tzinfo=None)
        return (gmt + self.utc_offset).isoformat(timespec="seconds"), gmt.isoformat(timespec="seconds")

    def _post_json(self, post: _Post) -> dict:
        local, gmt = self._date(post.created)
        row = {
            "id": post.id,
            "date": local,
            "date_gmt": gmt,
            "modified": local,
            "modified_gmt": gmt,
            "slug": re.sub(r"[^a-z0-9]+", "-", post.title.lower()).strip("-"),
            "status": "publish",
            "type": post.post_type,
            "link": f"{self.url}/?p={post.id}",
            "title": {"rendered": post.title},
        }
        if post.post_type == "sfwd-courses":
            start = post.course_start_date
            row.update(
                price_type=post.price_type,
                expire_access=post.expire_access,
                expire_access_days=post.expire_access_days,
                course_start_date=self._date(datetime.fromtimestamp(start, UTC))[0] if start else "",
            )
        if post.post_type == "groups":
            row["courses"] = list(post.courses)
        if post.course is not None:
            row["course"] = post.course
            row["lesson"] = post.parent or 0
        return row

    def _user_json(self, user: _User) -> dict:
        return {
            "id": user.id,
            "name": f"{user.first_name} {user.last_name}".strip() or user.username,
            "slug": re.sub(r"[^a-z0-9]+", "-", user.username.lower()).strip("-"),
            "link": f"{self.url}/author/{user.username}/",
        }

    def _ids(self, body: dict, name: str) -> list[int] | None:
        values = body.get(name)
        if isinstance(values, str):
            values = values.split(",")
        if not isinstance(values, list) or not values:
            return None
        found = []
        for value in values:
            try:
                found.append(abs(int(value)))
            except (TypeError, ValueError):
                found.append(0)
        return found

    def _user_courses(self, method: str, user_id: int, body: dict) -> tuple[int, list, bytes]:
        user = self._users.get(user_id)
        if method == "GET":
            if user is None:
                return _error(404, "learndash_rest_invalid_user_id", "Invalid User ID.")
            rows = []
            for course_id in self._course_ids_of(user_id):
                row = self._post_json(self._posts[course_id])
                since = self.access_from(user_id, course_id)
                moment = datetime.fromtimestamp(since, UTC) if since else user.registered
                row["enrolled_at"], row["enrolled_at_gmt"] = self._date(moment)
                row["awarded_certificate_url"] = ""
                rows.append(row)
            return self._list(rows, body)
        removing = method == "DELETE"
        if method not in ("POST", "PUT", "PATCH", "DELETE"):
            return _no_route()
        if user is None:
            if removing:
                return _error(404, "learndash_rest_invalid_user_id", "Invalid User ID.")
            return _json(400, {"code": "learndash_rest_invalid_user_id", "message": "Invalid User ID."})
        if self.admin_auto_enroll and "administrator" in user.roles:
            if removing:
                return _error(404, "learndash_rest_admin_auto_enroll", "Admin users are auto-enrolled.")
            return _json(400, {"code": "learndash_rest_admin_auto_enroll", "message": "Admin users are auto-enrolled."})
        ids = self._ids(body, "course_ids")
        if ids is None:
            if removing:
                return _error(404, "learndash_rest_invalid_course_id", "Missing Course ID")
            return _json(400, {"code": "learndash_rest_invalid_course_id", "message": "Missing Course ID"})
        results, done, failed = [], False, False
        for course_id in ids:
            if not course_id:
                continue
            post = self._posts.get(course_id)
            if post is None or post.post_type != "sfwd-courses":
                row = _item("course_id", course_id, False, "learndash_rest_invalid_course_id", "Invalid Course ID.")
            elif post.price_type == "open":
                verb = "unenroll" if removing else "enroll"
                text = f"Cannot {verb} users when Course price type is open."
                row = _item("course_id", course_id, False, "learndash_rest_rejected_course_open", text)
            elif removing:
                ok = self.unenroll(user_id, course_id)
                row = (
                    _item(
                        "course_id",
                        course_id,
                        True,
                        "learndash_rest_unenroll_success",
                        "User unenrolled from Course success.",
                    )
                    if ok
                    else _item(
                        "course_id",
                        course_id,
                        False,
                        "learndash_rest_unenroll_failed",
                        "User not enrolled from Course.",
                    )
                )
            else:
                ok = self.enroll(user_id, course_id)
                row = (
                    _item(
                        "course_id",
                        course_id,
                        True,
                        "learndash_rest_enroll_success",
                        "User enrolled in Course success.",
                    )
                    if ok
                    else _item(
                        "course_id",
                        course_id,
                        False,
                        "learndash_rest_enroll_failed",
                        "User already enrolled in Course.",
                    )
                )
            done |= row["status"] == "success"
            failed |= row["status"] == "failed"
            results.append(row)
        status = 200
        if removing:
            status = 200 if done and not failed else 207 if done else 422
        return _json(status, results)

    def _user_groups(self, method: str, user_id: int, body: dict) -> tuple[int, list, bytes]:
        if self._users.get(user_id) is None:
            return _error(404, "learndash_rest_invalid_user_id", "Invalid User ID.")
        if method == "GET":
            rows = [self._post_json(self._posts[g]) for g in sorted(self.groups_of(user_id)) if g in self._posts]
            return self._list(rows, body)
        if method not in ("POST", "PUT", "PATCH", "DELETE"):
            return _no_route()
        ids = self._ids(body, "group_ids")
        if ids is None:
            return _error(404, "learndash_rest_invalid_group_id", "Invalid Group ID.")
        removing, results = method == "DELETE", []
        for group_id in ids:
            if not group_id:
                continue
            post = self._posts.get(group_id)
            if post is None or post.post_type != "groups":
                results.append(
                    _item("group_id", group_id, False, "learndash_rest_invalid_group_id", "Invalid Group ID.")
                )
            elif removing:
                ok = self.leave_group(user_id, group_id)
                code = "learndash_rest_unenroll_success" if ok else "learndash_rest_unenroll_failed"
                text = "User unenrolled from Group success." if ok else "User not enrolled from Group."
                results.append(_item("group_id", group_id, ok, code, text))
            else:
                ok = self.join_group(user_id, group_id)
                code = "learndash_rest_enroll_success" if ok else "learndash_rest_enroll_failed"
                text = "User enrolled in Group success." if ok else "User already enrolled in Group."
                results.append(_item("group_id", group_id, ok, code, text))
        return _json(200, results)

    def _group_people(self, method: str, group_id: int, body: dict, *, leader: bool) -> tuple[int, list, bytes]:
        post = self._posts.get(group_id)
        if post is None or post.post_type != "groups":
            return _error(404, "rest_post_invalid_id", "Invalid Group ID.")
        if method == "GET":
            rows = [self._user_json(u) for u in self._users.values() if group_id in self.groups_of(u.id, leader=leader)]
            return self._list(rows, body)
        if method not in ("POST", "PUT", "PATCH", "DELETE"):
            return _no_route()
        ids = self._ids(body, "user_ids")
        if ids is None:
            return _error(404, "rest_post_invalid_id", "Missing User IDs.")
        removing, who, results = method == "DELETE", "Leader" if leader else "User", []
        for user_id in ids:
            if not user_id:
                continue
            if user_id not in self._users:
                results.append(_item("user_id", user_id, False, "rest_user_invalid_id", "Invalid User ID."))
                continue
            if removing:
                ok = self.leave_group(user_id, group_id, leader=leader)
                code = "learndash_rest_unenroll_success" if ok else "learndash_rest_unenroll_failed"
                text = f"{who} unenroll from Group success." if ok else f"{who} not unenrolled from Group."
            else:
                ok = self.join_group(user_id, group_id, leader=leader)
                code = "learndash_rest_enroll_success" if ok else "learndash_rest_enroll_failed"
                text = f"{who} enrolled in Group success." if ok else f"{who} already enrolled in Group."
            results.append(_item("user_id", user_id, ok, code, text))
        return _json(200, results)

    def _group_courses(self, method: str, group_id: int, body: dict) -> tuple[int, list, bytes]:
        post = self._posts.get(group_id)
        if post is None or post.post_type != "groups":
            return _error(404, "rest_post_invalid_id", "Invalid Group ID.")
        if method == "GET":
            return self._list([self._post_json(self._posts[c]) for c in post.courses if c in self._posts], body)
        ids = self._ids(body, "course_ids")
        if ids is None:
            return _error(404, "rest_post_invalid_id", "Missing Course IDs.")
        results = []
        for course_id in ids:
            course = self._posts.get(course_id)
            if course is None or course.post_type != "sfwd-courses":
                results.append(
                    _item("course_id", course_id, False, "learndash_rest_invalid_course_id", "Invalid Course ID.")
                )
            elif method == "DELETE":
                ok = course_id in post.courses
                if ok:
                    post.courses.remove(course_id)
                code = "learndash_rest_unenroll_success" if ok else "learndash_rest_unenroll_failed"
                results.append(_item("course_id", course_id, ok, code, "Course removed from Group."))
            else:
                ok = course_id not in post.courses
                if ok:
                    post.courses.append(course_id)
                code = "learndash_rest_enroll_success" if ok else "learndash_rest_enroll_failed"
                results.append(_item("course_id", course_id, ok, code, "Course added to Group."))
        return _json(200, results)

    def _course_users(self, method: str, course_id: int, body: dict) -> tuple[int, list, bytes]:
        post = self._posts.get(course_id)
        if post is None or post.post_type != "sfwd-courses":
            return _error(404, "rest_post_invalid_id", "Invalid Course ID.")
        if method == "GET":
            rows = [self._user_json(u) for u in self._users.values() if course_id in self._course_ids_of(u.id)]
            return self._list(rows, body)
        if post.price_type == "open":  # the whole request is refused (code inferred)
            return _error(
                406, "learndash_rest_rejected_course_open", "Cannot enroll users when Course price type is open."
            )
        ids = self._ids(body, "user_ids")
        if ids is None:
            return _error(404, "rest_user_invalid_id", "Missing User IDs.")
        results = []
        for user_id in ids:
            if user_id not in self._users:
                results.append(_item("user_id", user_id, False, "rest_user_invalid_id", "Invalid User ID."))
                continue
            ok = self.unenroll(user_id, course_id) if method == "DELETE" else self.enroll(user_id, course_id)
            verb = "unenroll" if method == "DELETE" else "enroll"
            results.append(_item("user_id", user_id, ok, f"learndash_rest_{verb}_{'success' if ok else 'failed'}", ""))
        return _json(200, results)

    def _steps(self, course_id: int, kind: str) -> tuple[int, list, bytes]:
        post = self._posts.get(course_id)
        if post is None or post.post_type != "sfwd-courses":
            return _error(404, "rest_post_invalid_id", "Invalid Course ID.")
        steps = [p for p in self._posts.values() if p.course == course_id]
        if kind == "l":
            return _json(200, [s.id for s in steps])
        if kind == "t":
            return _json(200, {t: [s.id for s in steps if s.post_type == t] for t in STEP_POST_TYPES.values()})

        def below(parent: int | None) -> dict:
            node: dict[str, Any] = {}
            for post_type in STEP_POST_TYPES.values():
                children = {str(s.id): below(s.id) for s in steps if s.parent == parent and s.post_type == post_type}
                node[post_type] = children or []  # PHP's json_encode: an empty array is []
            return node

        return _json(200, below(None))

    def _course_progress(self, user_id: int, course_id: int | None, body: dict) -> tuple[int, list, bytes]:
        if user_id not in self._users:
            return _error(404, "learndash_rest_invalid_user_id", "Invalid User ID.")
        rows = []
        for cid in self._course_ids_of(user_id):
            if course_id is not None and cid != course_id:
                continue
            total = sum(1 for p in self._posts.values() if p.course == cid)
            saved = self._progress.get((user_id, cid), {})
            rows.append(
                {
                    "course": cid,
                    "progress_status": saved.get("progress_status", "not_started"),
                    "last_step": saved.get("last_step", 0),
                    "steps_completed": saved.get("steps_completed", 0),
                    "steps_total": total,
                    "date_started": saved.get("date_started", ""),
                    "date_completed": saved.get("date_completed", ""),
                }
            )
        if course_id is not None:
            return (
                _json(200, rows[0]) if rows else _error(404, "learndash_rest_invalid_course_id", "Invalid Course ID.")
            )
        return self._list(rows, body)

    # -- wp/v2/users -------------------------------------------------------------------------------------------------

    def _wp_users(self, method: str, path: str, body: dict, user: _User | None) -> tuple[int, list, bytes]:
        rest = path[len("/wp-json/wp/v2/users") :].strip("/")
        edit = body.get("context") == "edit"
        if rest == "me" and method == "GET":
            if user is None:
                return _error(401, "rest_not_logged_in", "You are not currently logged in.")
            return _json(200, self._wp_user_json(user, True))
        is_admin = user is not None and "administrator" in user.roles
        if rest == "" and method == "GET":
            if edit and not is_admin:
                return _error(
                    401 if user is None else 403, "rest_forbidden_context", "Sorry, you are not allowed to list users."
                )
            term = str(body.get("search") or "").strip().lower()
            rows = [
                u
                for u in self._users.values()
                if not term or term in (u.email.lower() if "@" in term else f"{u.username} {u.email}".lower())
            ]
            return self._list([self._wp_user_json(u, edit) for u in rows], body)
        if rest == "" and method == "POST":
            if not is_admin:
                return _error(
                    401 if user is None else 403,
                    "rest_cannot_create_user",
                    "Sorry, you are not allowed to create new users.",
                )
            missing = [name for name in ("username", "email", "password") if not body.get(name)]
            if missing:
                return _error(400, "rest_missing_callback_param", f"Missing parameter(s): {', '.join(missing)}")
            if any(u.username.lower() == str(body["username"]).lower() for u in self._users.values()):
                return _error(400, "existing_user_login", "Sorry, that username already exists!")
            if self.user_by_email(str(body["email"])) is not None:
                return _error(400, "existing_user_email", "Sorry, that email address is already used!")
            new = self.user(
                email=str(body["email"]),
                username=str(body["username"]),
                first_name=str(body.get("first_name") or ""),
                last_name=str(body.get("last_name") or ""),
            )
            self.effects.append(("create_user", new, 0))
            return _json(201, self._wp_user_json(self._users[new], True))
        return _no_route()

    def _wp_user_json(self, user: _User, edit: bool) -> dict:
        row = self._user_json(user)
        if edit:
            admin = "administrator" in user.roles
            row.update(
                username=user.username,
                email=user.email,
                first_name=user.first_name,
                last_name=user.last_name,
                roles=list(user.roles),
                registered_date=user.registered.astimezone(UTC)
                .isoformat(timespec="seconds")
                .replace("+00:00", "+00:00"),
                capabilities={"read": True, "manage_options": admin, **{r: True for r in user.roles}},
            )
        return row

    # -- the companion plugin (membersync/v1) ------------------------------------------------------------------------

    def _companion(self, method: str, path: str, body: dict, user: _User | None) -> tuple[int, list, bytes]:
        if user is None or "administrator" not in user.roles:
            return _error(401 if user is None else 403, "rest_forbidden", "Sorry, you are not allowed to do that.")
        rest = path[len("/wp-json/membersync/v1/") :]
        if rest == "status" and method == "GET":
            return _json(200, {"version": "1.0.0", "learndash": "5.0.5", "suspended": len(self._suspended)})
        match = re.fullmatch(r"users/(\d+)/access", rest)
        if not match or method != "POST":
            return _no_route()
        user_id = int(match.group(1))
        if user_id not in self._users:
            return _error(404, "membersync_invalid_user", "Invalid user ID.")
        # The plugin checks the whole body before applying anything (its class-rest.php): one bad item refuses all.
        for index, item in enumerate(body.get("items") or []):
            where = f"items[{index}]"
            if item.get("access_from") is not None and item.get("kind") == "group":
                return _error(400, "membersync_invalid_body", f"{where}.access_from must be null for a group")
            if item.get("access_from") is not None and item.get("status") == "suspended":
                return _error(400, "membersync_invalid_body", f"{where}.access_from must be null when suspended")
        results = []
        for item in body.get("items") or []:
            kind, target, status = item.get("kind"), int(item.get("id") or 0), item.get("status")
            post = self._posts.get(target)
            wanted_type = "sfwd-courses" if kind == "course" else "groups"
            row = {"kind": kind, "id": target}
            if post is None or post.post_type != wanted_type or status not in ("active", "suspended"):
                results.append({**row, "status": "failed", "code": "membersync_invalid_id", "message": "Invalid ID."})
                continue
            held = target in (self.enrolled(user_id) if kind == "course" else self.groups_of(user_id))
            if not held:
                results.append(
                    {**row, "status": "failed", "code": "membersync_not_enrolled", "message": "Not enrolled."}
                )
                continue
            if status == "suspended":
                self._suspended.add((kind, user_id, target))
            else:
                self._suspended.discard((kind, user_id, target))
                if kind == "course" and item.get("access_from"):
                    self._users[user_id].meta[f"course_{target}_access_from"] = int(item["access_from"])
            self.effects.append((f"companion_{status}", user_id, target))
            results.append({**row, "status": "success", "code": "membersync_access_updated", "message": "Updated."})
        return _json(200, {"items": results})


# -- helpers -------------------------------------------------------------------------------------------------------


def _route_key(site: LearnDashSite, method: str, path: str) -> str:
    if path == "/wp-json/":
        return "index"
    if path == "/wp-json/ldlms/v2":
        return "ldlms-index"
    if path.startswith("/wp-json/wp/v2/users"):
        return "wp-users-me" if path.endswith("/me") else "wp-users"
    if path.startswith("/wp-json/membersync/v1/"):
        return "companion-status" if path.endswith("/status") else "companion-access"
    if path.startswith("/__fixture__/"):
        return "fixture"
    segments = path[len("/wp-json/ldlms/v2/") :].split("/") if path.startswith("/wp-json/ldlms/v2/") else []
    b = site.bases
    if len(segments) >= 3:
        for key, (parent, _title) in NESTED.items():
            if segments[0] == b[parent] and segments[2] == b[key]:
                return key
    if segments:
        for key in (*POST_TYPES, "users"):
            if segments[0] == b[key]:
                return key
    return path


def _item(id_key: str, value: int, ok: bool, code: str, message: str) -> dict:
    return {id_key: value, "status": "success" if ok else "failed", "code": code, "message": message}


def _json(status: int, data: Any, extra: list | None = None) -> tuple[int, list, bytes]:
    body = json.dumps(data).encode()
    return status, [("Content-Type", "application/json; charset=UTF-8"), *(extra or [])], body


def _error(status: int, code: str, message: str, extra: list | None = None) -> tuple[int, list, bytes]:
    return _json(status, {"code": code, "message": message, "data": {"status": status}}, extra)


def _no_route() -> tuple[int, list, bytes]:
    return _error(404, "rest_no_route", "No route was found matching the URL and request method.")


def _injected(status: int, retry_after: float | None) -> tuple[int, list, bytes]:
    extra = [("Retry-After", f"{retry_after:g}")] if retry_after is not None else []
    if status == 500:
        return _error(500, "internal_server_error", "<p>There has been a critical error on this website.</p>", extra)
    if status == 429 or status >= 500:
        page = f"<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>".encode()
        return status, [("Content-Type", "text/html"), *extra], page
    return _error(status, "injected_failure", "Injected by the test.", extra)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16
    site: LearnDashSite

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.site._handle(self)

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main(argv: list[str] | None = None) -> None:
    """Serve a site in this process until killed, printing one JSON line: url, username, app_password."""
    import argparse

    parser = argparse.ArgumentParser(description="a LearnDash 5.0.5 site on loopback, for benchmarks")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--max-in-flight", type=int, default=None)
    parser.add_argument("--companion", action="store_true")
    options = parser.parse_args(argv)
    site = LearnDashSite(latency=options.latency, max_in_flight=options.max_in_flight, companion=options.companion)
    site.start()
    print(json.dumps({"url": site.url, "username": site.username, "app_password": site.app_password}), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
