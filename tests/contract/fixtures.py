"""pytest fixtures for the contract stand-ins. pytest reads conftest.py only from test folders, so these are
imported where they are wanted: in tests/conftest.py,

    from tests.contract.fixtures import woocommerce_store, woocommerce_store_factory  # noqa: F401

or in one test module the same way.
"""

from collections.abc import Callable, Iterator

import pytest

from tests.contract.learndash_site import LearnDashSite
from tests.contract.woocommerce_store import FakeStore


@pytest.fixture
def woocommerce_store() -> Iterator[FakeStore]:
    """A started FakeStore with Subscriptions and Memberships, stopped after the test."""
    with FakeStore() as store:
        yield store


@pytest.fixture
def woocommerce_store_factory() -> Iterator[Callable[..., FakeStore]]:
    """make(**options) -> a started FakeStore with those options (FakeStore's keywords); all stopped after."""
    stores: list[FakeStore] = []

    def make(**options) -> FakeStore:
        store = FakeStore(**options).start()
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.stop()


@pytest.fixture
def learndash_site_factory() -> Iterator[Callable[..., LearnDashSite]]:
    """make(**options) -> a started LearnDashSite with those options (LearnDashSite's keywords); all stopped after."""
    sites: list[LearnDashSite] = []

    def make(**options) -> LearnDashSite:
        site = LearnDashSite(**options).start()
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.stop()
