"""Who did something: the typed actor every write service takes, the ledger records and permissions read.

An actor is a kind and an id. The kinds:

- `operator`: a person running the site in the admin (their username);
- `member`: a person acting for herself or her organization in the portal (her external id), limited to her
  role's permissions;
- `api_key`: a program calling the API (the key's name); a key made for one organization (`org`) acts as that
  organization's manager and is limited like one;
- `connection`: a connected system such as a WooCommerce store (the connection's name);
- `clock`: MemberSync itself acting on time (drips, trial ends, expiries);
- `system`: MemberSync's own commands (the CLI, the scenario runner, the demo loader, benchmarks).

Only `member` actors and organization-scoped `api_key` actors are limited by an organization role; every other
kind acts for the site. What an actor is called in text a customer reads is `label` (never the internal name):
"an administrator", "the store".
"""

from __future__ import annotations

from dataclasses import dataclass

OPERATOR = "operator"
MEMBER = "member"
API_KEY = "api_key"
CONNECTION = "connection"
CLOCK = "clock"
SYSTEM = "system"
KINDS = (OPERATOR, MEMBER, API_KEY, CONNECTION, CLOCK, SYSTEM)

_LABELS = {
    OPERATOR: "an administrator",
    API_KEY: "an integration",
    CONNECTION: "the store",
    CLOCK: "the schedule",
    SYSTEM: "MemberSync",
}


@dataclass(frozen=True, slots=True)
class Actor:
    kind: str
    id: str = ""
    org: str = ""  # an API key made for one organization: the external id of that organization

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"{self.kind!r} is not a kind of actor; the kinds are {', '.join(KINDS)}")
        if self.kind == MEMBER and not self.id:
            raise ValueError("a member actor needs the member's id")
        if self.org and self.kind != API_KEY:
            raise ValueError("only an API key is limited to one organization")

    @classmethod
    def operator(cls, username: str) -> Actor:
        return cls(OPERATOR, str(username))

    @classmethod
    def member(cls, external_id: str) -> Actor:
        return cls(MEMBER, str(external_id))

    @classmethod
    def api_key(cls, name: str, org: str = "") -> Actor:
        return cls(API_KEY, str(name), str(org or ""))

    @classmethod
    def connection(cls, name: str) -> Actor:
        return cls(CONNECTION, str(name))

    @classmethod
    def clock(cls) -> Actor:
        return cls(CLOCK)

    @classmethod
    def system(cls, name: str = "") -> Actor:
        return cls(SYSTEM, str(name))

    @classmethod
    def parse(cls, text: str) -> Actor:
        """The actor a stored "kind:id" names. Text stored before actors were typed reads as the system."""
        kind, _, ident = str(text).partition(":")
        if kind in KINDS and (ident or kind != MEMBER):
            return cls(kind, ident)
        if kind == "admin":
            return cls(OPERATOR, ident or "admin")
        return cls(SYSTEM, str(text))

    @property
    def acts_for_site(self) -> bool:
        """Anyone but a member or an organization's API key acts with the whole site's authority."""
        return self.kind != MEMBER and not self.org

    @property
    def member_id(self) -> str | None:
        """The external id of the member acting, or None when the actor acts for the site."""
        return self.id if self.kind == MEMBER else None

    @property
    def label(self) -> str:
        """How the actor is named in text a customer may read."""
        return self.id if self.kind == MEMBER else _LABELS[self.kind]

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}" if self.id else self.kind
