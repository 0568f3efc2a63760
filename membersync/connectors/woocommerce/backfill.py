"""Importing a store's history: every plan, product, customer, subscription, user membership and order, read
page by page from its REST API and applied through the same handlers as webhook deliveries.

    report = woocommerce_import(connection, progress=draw)      # resumes where an interrupted import stopped
    report = woocommerce_import(connection, dry_run=True)       # what would change, writing nothing

- Order: membership plans (only where the store runs Memberships: plans know their products), products (which
  are subscription products: an order line of one grants nothing itself), customers, subscriptions, user
  memberships (only for a connection that follows Memberships), then orders.
- Each object is applied as a delivery of its current state (`action="updated"`) by
  `deliveries.WOOCOMMERCE_HANDLERS[resource]`: a state equal to the last one applied is a duplicate, an older one
  stale, so importing twice changes nothing and an import never doubles what webhooks already brought.
- HTTP reads (pages, and what a handler's `fetch` reads) are never inside a database transaction; each object's
  apply is a transaction of its own (rolled back under `dry_run`). A failure is counted and listed with its
  error, and the import goes on.
- Resumable: after each page, ImportProgress remembers the next page of that resource and what the pages done
  did; an interrupted import starts there. A finished import removes its progress (the next one is a whole new
  pass); `restart=True` removes it first. Pages are read in id order, so objects created meanwhile come last.
- The store: a refused key stops the import at once (StoreStopped says what to fix); an unavailable store
  (timeout, 5xx, 429) is asked again with backoff, waiting what its Retry-After asks, then the import stops with
  a message saying it resumes where it stopped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.db import transaction

from membersync import clock
from membersync.clients.woocommerce import (
    MAX_PER_PAGE,
    Page,
    StoreAuthError,
    StoreError,
    StoreNotFound,
    StoreUnavailable,
    WooCommerceClient,
)
from membersync.errors import ServiceError
from membersync.people.models import WOOCOMMERCE, Connection

from ..models import ImportProgress
from ..outcomes import Outcome
from .memberships import follows_memberships
from .payloads import PayloadError
from .store import store_client

log = logging.getLogger(__name__)

# (resource, REST route), in the order they are imported: what a later one needs is there before it.
STEPS = (
    ("membership_plan", "memberships/plans"),
    ("product", "products"),
    ("customer", "customers"),
    ("subscription", "subscriptions"),
    ("user_membership", "memberships/members"),
    ("order", "orders"),
)
LABELS = {
    "membership_plan": "membership plans",
    "product": "products",
    "customer": "customers",
    "subscription": "subscriptions",
    "user_membership": "user memberships",
    "order": "orders",
}


def list_order(route: str) -> dict[str, str]:
    """Stable pages: by id, oldest first (the store's default is newest first, which moves under a reader: objects
    made meanwhile then come last). Memberships' list reads `order` as a filter by order id, so its pages are by
    id in the store's own direction (newest first: a membership made meanwhile shifts the others to later pages,
    where they are read again as duplicates; it comes by webhook)."""
    if route == "memberships/members":
        return {"orderby": "id"}
    return {"orderby": "id", "order": "asc"}


SUBSCRIPTION_PRODUCT_TYPES = ("subscription", "variable-subscription", "subscription_variation")
COUNTS = ("read", "applied", "duplicate", "stale", "ignored", "failed")
KEPT_FAILURES = 200  # failures remembered across an interruption, per resource
ATTEMPTS = 4  # tries of one request while the store is unavailable
BACKOFF_SECONDS = 2.0  # the first wait when the store says nothing; doubled at each try
MAX_WAIT_SECONDS = 120.0  # a longer Retry-After stops the import instead (it resumes later)

# (resource, done, total): objects read so far of that resource, and how many the store has.
Progress = Callable[[str, int, int], None]


class StoreStopped(Exception):
    """Reading the store cannot go on now (refused key, store unavailable): the message says why and what to do."""


@dataclass
class PatientReader:
    """Calls that read a store, asked again with backoff while the store is unavailable (waiting what its
    Retry-After asks, up to `max_wait`); a refused key, or a store still unavailable after `attempts` tries,
    raises StoreStopped saying why, where (`where`) and what to do (`then`). Any other StoreError is raised
    as is: the caller decides whether it concerns one object or everything."""

    connection: str
    sleep: Callable[[float], None] = time.sleep
    attempts: int = ATTEMPTS
    max_wait: float = MAX_WAIT_SECONDS

    def call(self, call: Callable, *, where: str, then: str):
        attempts = max(1, self.attempts)
        for attempt in range(1, attempts + 1):
            try:
                return call()
            except StoreAuthError as error:
                raise StoreStopped(f"the store refused the API key {where}: {error} {then}") from None
            except StoreUnavailable as error:
                wait = error.retry_after if error.retry_after is not None else BACKOFF_SECONDS * 2 ** (attempt - 1)
                if attempt == attempts or wait > self.max_wait:
                    asked = f" (it asks to wait {wait:g} s)" if error.retry_after is not None else ""
                    tries = f"{attempt} {'try' if attempt == 1 else 'tries'}"
                    raise StoreStopped(
                        f"the store is unavailable {where}{asked}; stopped after {tries}: {error}. {then}"
                    ) from None
                log.info("store %s unavailable %s, asking again in %g s", self.connection, where, wait)
                self.sleep(wait)
        raise AssertionError("unreachable")


@dataclass
class ResourceSummary:
    resource: str
    read: int = 0
    applied: int = 0
    duplicate: int = 0
    stale: int = 0
    ignored: int = 0
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (id, error)
    skipped: str = ""  # why this resource was not read at all
    resumed_at_page: int = 1
    pages: int = 0  # pages read in this run
    total: int | None = None  # objects in the store, as its last page said

    def count(self, status: str) -> None:
        setattr(self, status, getattr(self, status) + 1)

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTS}


@dataclass
class ImportReport:
    connection: str
    dry_run: bool
    resources: list[ResourceSummary] = field(default_factory=list)
    stopped: str = ""  # why the import stopped before the end ("" when it finished)
    resumed: str = ""  # where an interrupted import was taken up again ("page 3 of customers"), else ""

    @property
    def finished(self) -> bool:
        return not self.stopped

    @property
    def applied(self) -> int:
        return sum(r.applied for r in self.resources)

    @property
    def failed(self) -> int:
        return sum(r.failed for r in self.resources)

    def summary(self, name: str) -> ResourceSummary | None:
        return next((r for r in self.resources if r.resource == name), None)


def woocommerce_connection_named(name: str) -> Connection:
    """The WooCommerce connection of this name, or a ServiceError (not_found) naming the ones there are."""
    connection = Connection.objects.filter(kind=WOOCOMMERCE, name=name).first()
    if connection is None:
        known = ", ".join(Connection.objects.filter(kind=WOOCOMMERCE).values_list("name", flat=True)) or "none yet"
        raise ServiceError(
            "not_found",
            f"no WooCommerce connection named {name!r} (connections: {known}); "
            "make one with `membersync connect woocommerce NAME --url URL ...`",
            field="name",
        )
    return connection


def woocommerce_import(
    connection: Connection,
    *,
    dry_run: bool = False,
    restart: bool = False,
    progress: Progress | None = None,
    client: WooCommerceClient | None = None,
    sleep: Callable[[float], None] = time.sleep,
    attempts: int = ATTEMPTS,
    max_wait: float = MAX_WAIT_SECONDS,
) -> ImportReport:
    """Import the store's history into MemberSync (see the module's docstring). Never raises for the store's
    failures: the report's `stopped` says why it stopped, and a later call resumes."""
    connection.refresh_from_db(fields=["settings"])  # what the worker learned meanwhile (subscription products)
    run = _Import(connection, dry_run, progress, client or store_client(connection), sleep, attempts, max_wait)
    if restart and not dry_run:
        ImportProgress.objects.filter(connection=connection).delete()
    try:
        run.all()
    except StoreStopped as stopped:
        run.report.stopped = str(stopped)
    finally:
        if client is None:
            run.client.close()
    if run.report.finished and not dry_run:
        ImportProgress.objects.filter(connection=connection).delete()
    return run.report


class _Import:
    def __init__(self, connection, dry_run, progress, client, sleep, attempts, max_wait):
        self.connection = connection
        self.dry_run = dry_run
        self.progress = progress
        self.client = client
        self.reader = PatientReader(connection.name, sleep, attempts, max_wait)
        self.report = ImportReport(connection.name, dry_run)
        self.where = "before reading anything"  # for a stop's message: where it resumes

    # -- the steps ---------------------------------------------------------------------------------------------

    def all(self) -> None:
        from ..deliveries import WOOCOMMERCE_HANDLERS  # deliveries imports the handlers; import it when used

        self.handlers = WOOCOMMERCE_HANDLERS
        saved = {} if self.dry_run else self._saved()
        if saved:
            pending = [(r, saved[r]) for r, _ in STEPS if r in saved and not saved[r].done]
            resource, at = pending[0] if pending else next(iter(saved.items()))
            self.report.resumed = f"page {at.next_page} of {LABELS[resource]}"
        for resource, route in STEPS:
            summary = ResourceSummary(resource)
            self.report.resources.append(summary)
            known = saved.get(resource)
            if known is not None:
                for name in COUNTS:
                    setattr(summary, name, int(known.counts.get(name, 0)))
                summary.skipped = str(known.counts.get("skipped", ""))
                summary.failures = [tuple(f) for f in known.failures]
                summary.resumed_at_page = known.next_page
                if known.done:
                    continue  # finished before the interruption
            summary.skipped = self._skip_reason(resource, route)
            if summary.skipped:
                self._save(summary, next_page=1, done=True)
                continue
            self._resource(summary, route, known.next_page if known else 1)

    def _skip_reason(self, resource: str, route: str) -> str:
        if resource == "membership_plan" and not self._has_route(resource, route):
            return "the store does not run WooCommerce Memberships"
        if resource == "subscription" and not self._has_route(resource, route):
            return "the store does not run WooCommerce Subscriptions"
        if resource == "user_membership":
            if not follows_memberships(self.connection):
                return "the connection does not follow WooCommerce Memberships (orders and subscriptions make them)"
            if not self._has_route(resource, route):
                return "the connection follows WooCommerce Memberships, but the store does not run it"
        return ""

    def _has_route(self, resource: str, route: str) -> bool:
        self.where = f"at {LABELS[resource]}"
        return self._store(lambda: self.client.has_route(route))

    def _resource(self, summary: ResourceSummary, route: str, first: int) -> None:
        summary.resumed_at_page = first
        number = first
        while True:
            self.where = f"at page {number} of {LABELS[summary.resource]}"
            page = self._page(route, number)
            summary.total = page.total
            if summary.resource == "product":
                self._products(summary, page)
            else:
                for item in page.items:
                    self._item(summary, item)
            summary.pages += 1
            self._save(summary, next_page=number + 1, done=page.is_last, total_pages=page.total_pages)
            if self.progress is not None:
                total = page.total if page.total is not None else summary.read
                self.progress(summary.resource, min(number * MAX_PER_PAGE, total), total)
            if page.is_last or not page.items:
                break
            number += 1

    def _page(self, route: str, number: int) -> Page:
        def read() -> Page:
            return next(
                iter(self.client.pages(route, per_page=MAX_PER_PAGE, start_page=number, params=list_order(route)))
            )

        try:
            return self._store(read)
        except StoreError as error:  # not found (a plugin removed meanwhile), a redirect, an answer not JSON
            raise StoreStopped(
                f"the store could not be read {self.where}: {error}. Run the import again once it is fixed: "
                f"it resumes {self.where}."
            ) from None

    # -- one object --------------------------------------------------------------------------------------------

    def _item(self, summary: ResourceSummary, payload) -> None:
        summary.read += 1
        object_id = str(payload.get("id", "?")) if isinstance(payload, Mapping) else "?"
        if not isinstance(payload, Mapping):
            return self._failed(summary, object_id, "the store listed something that is not an object")
        handler = self.handlers.get(summary.resource)
        if handler is None:
            summary.count("ignored")
            return None
        try:
            extra = self._fetch(handler, payload)
        except StoreNotFound:
            summary.count("ignored")  # gone from the store since the page was read: its deletion is a webhook
            return None
        except (StoreError, PayloadError) as error:  # this object only: the import goes on
            return self._failed(summary, object_id, str(error))
        outcome = self._apply(summary, object_id, handler, payload, extra)
        if outcome is not None:
            summary.count(outcome.status if outcome.status in COUNTS else "applied")
        return None

    def _fetch(self, handler, payload) -> dict:
        """What the handler reads from the store besides the object (an order's refunds), if anything."""
        if handler.fetch is None:
            return {}
        return self._store(lambda: handler.fetch(self.connection, payload, action="updated"))

    def _apply(self, summary, object_id, handler, payload, extra) -> Outcome | None:
        try:
            with transaction.atomic():
                outcome = handler.apply(self.connection, payload, action="updated", source="import", **extra)
                if self.dry_run:
                    transaction.set_rollback(True)
            return outcome
        except (ServiceError, PayloadError, StoreError) as error:
            self._failed(summary, object_id, str(error))
        except Exception as error:  # one object's failure never stops the import
            log.exception("importing %s %s from %s failed", summary.resource, object_id, self.connection.name)
            self._failed(summary, object_id, f"{type(error).__name__}: {error}")
        return None

    def _failed(self, summary: ResourceSummary, object_id: str, error: str) -> None:
        summary.count("failed")
        summary.failures.append((object_id, error))

    def _products(self, summary: ResourceSummary, page: Page) -> None:
        """A page of products: the subscription products (and their variations) are remembered on the
        connection, so that an order line of one grants nothing by itself (its subscription does)."""
        learned: set[str] = set()
        known = {str(p) for p in self.connection.settings.get("subscription_product_ids", [])}
        for product in page.items:
            summary.read += 1
            if not isinstance(product, Mapping):
                self._failed(summary, "?", "the store listed something that is not an object")
                continue
            if product.get("type") not in SUBSCRIPTION_PRODUCT_TYPES:
                summary.count("ignored")
                continue
            ids = {str(product.get("id"))} | {str(v) for v in product.get("variations") or []}
            if ids <= known | learned:
                summary.count("duplicate")
            else:
                summary.count("applied")
                learned |= ids
        if learned:
            self._learn(learned)

    def _learn(self, product_ids: set[str]) -> None:
        if self.dry_run:
            known = set(self.connection.settings.get("subscription_product_ids", []))
            self.connection.settings["subscription_product_ids"] = sorted(known | product_ids)
            return
        with transaction.atomic():
            stored = Connection.objects.select_for_update().get(pk=self.connection.pk)
            known = set(stored.settings.get("subscription_product_ids", []))
            stored.settings["subscription_product_ids"] = sorted(known | product_ids)
            Connection.objects.filter(pk=stored.pk).update(settings=stored.settings)
        self.connection.settings = stored.settings

    # -- the store ---------------------------------------------------------------------------------------------

    def _store(self, call: Callable):
        return self.reader.call(call, where=self.where, then=f"Run the import again: it resumes {self.where}.")

    # -- progress ----------------------------------------------------------------------------------------------

    def _saved(self) -> dict[str, ImportProgress]:
        return {p.resource: p for p in ImportProgress.objects.filter(connection=self.connection)}

    def _save(self, summary: ResourceSummary, *, next_page: int, done: bool, total_pages: int | None = None) -> None:
        if self.dry_run:
            return
        now = clock.now()
        ImportProgress.objects.update_or_create(
            connection=self.connection,
            resource=summary.resource,
            defaults={
                "next_page": next_page,
                "total_pages": total_pages,
                "done": done,
                "counts": summary.counts() | {"skipped": summary.skipped},
                "failures": [list(f) for f in summary.failures[-KEPT_FAILURES:]],
                "updated_at": now,
            },
            create_defaults={
                "next_page": next_page,
                "total_pages": total_pages,
                "done": done,
                "counts": summary.counts() | {"skipped": summary.skipped},
                "failures": [list(f) for f in summary.failures[-KEPT_FAILURES:]],
                "started_at": now,
                "updated_at": now,
            },
        )


def import_in_progress(connection: Connection) -> list[ImportProgress]:
    """What an interrupted import of this connection had done, by resource ([] when none is under way)."""
    return list(ImportProgress.objects.filter(connection=connection).order_by("pk"))
