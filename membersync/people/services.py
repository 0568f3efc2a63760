"""Writes about people: who a connection's id is, members' emails, connections and their secrets, and merging
two members into one.

This app is below the sources and the engine: nothing here imports them. A merge finds every row that points at
a member through Django's model metadata, so a source app added later is merged without a change here.
Merging as an event (stored, reconciled) is membersync/members/merge.py.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_slug
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q

from membersync import clock
from membersync.errors import ServiceError

from .models import CONNECTION_KINDS, MERGED_MEMBER_ID, Connection, Identity, Member, email_normalize

# ---- members and identities ----

CREATED = "created"
BY_IDENTITY = "identity"
BY_EMAIL = "email"
BY_EXTERNAL_ID = "external_id"
BY_MERGED_ID = "merged_id"


@dataclass(frozen=True)
class MemberFound:
    """The member an id or an email names. `how`: how she was found (identity, email, external_id, merged_id)
    or `created`."""

    member: Member
    how: str
    identity: Identity | None = None
    email_changed: bool = False

    @property
    def created(self) -> bool:
        return self.how == CREATED


@dataclass(frozen=True)
class EmailChange:
    member: Member
    old: str
    new: str

    @property
    def changed(self) -> bool:
        return self.old != self.new


def member_find(*, external_id: str = "", email: str = "") -> MemberFound | None:
    """The member with this external id (or the member it was merged into), else the oldest member with this
    normalized email, else None."""
    if external_id:
        member = Member.objects.filter(external_id=str(external_id)).first()
        if member is not None:
            return MemberFound(member, BY_EXTERNAL_ID)
        alias = (
            Identity.objects.select_related("member")
            .filter(connection__isnull=True, kind=MERGED_MEMBER_ID, external_id=str(external_id))
            .first()
        )
        if alias is not None:
            return MemberFound(alias.member, BY_MERGED_ID, alias)
    member = _member_by_email(email)
    return MemberFound(member, BY_EMAIL) if member is not None else None


def _member_by_email(email: str) -> Member | None:
    """The oldest member with this address, normalized; None for an empty one."""
    normalized = email_normalize(email)
    return Member.objects.filter(email_normalized=normalized).order_by("pk").first() if normalized else None


def member_for_identity(
    *, connection: Connection, kind: str, external_id: str, email: str = "", name: str = ""
) -> MemberFound:
    """The member a connection's id names, recording the identity the first time.

    Found by the identity; else by normalized email (a store customer whose address is that of a member invited
    through the portal becomes that member, not a second one); else a new member. A known identity that now comes
    with another email moves the member's email along (identity_email_change)."""
    external_id = str(external_id).strip()
    if not external_id:
        raise ServiceError("invalid_value", "an identity needs an id", field="external_id")
    if kind not in _connection_identity_kinds():
        raise ServiceError("invalid_value", f"{kind!r} is not a kind of id a connection has", field="kind")
    with transaction.atomic():
        found = _identity_found(connection, kind, external_id, email)
        if found is not None:
            return found
        # A new person: two workers may be applying two deliveries about her at once. Whoever comes second waits
        # here for the first to commit, then finds what it made (docs/decisions/0012).
        _new_person_lock(connection, kind, external_id, email)
        found = _identity_found(connection, kind, external_id, email)
        if found is not None:
            return found
        try:
            with transaction.atomic():  # a savepoint: a conflict leaves the outer transaction usable
                return _identity_create(connection, kind, external_id, email, name)
        except IntegrityError:
            # Another transaction recorded the identity after our read (an email change between the two
            # deliveries took another lock): hers is the one.
            found = _identity_found(connection, kind, external_id, email)
            if found is None:
                raise
            return found


def _identity_found(connection: Connection, kind: str, external_id: str, email: str) -> MemberFound | None:
    identity = (
        Identity.objects.select_related("member")
        .filter(connection=connection, kind=kind, external_id=external_id)
        .first()
    )
    if identity is None:
        return None
    changed = False
    if email_normalize(email) and email_normalize(email) != email_normalize(identity.email):
        changed = identity_email_change(identity=identity, email=email).changed
    return MemberFound(identity.member, BY_IDENTITY, identity, email_changed=changed)


def _identity_create(connection: Connection, kind: str, external_id: str, email: str, name: str) -> MemberFound:
    member = _member_by_email(email)
    how = BY_EMAIL
    if member is None:
        member, created = Member.objects.get_or_create(
            external_id=_member_external_id(connection, kind, external_id),
            defaults={"email": email.strip(), "name": name.strip(), "created_at": clock.now()},
        )
        how = CREATED if created else BY_EXTERNAL_ID
    elif name and not member.name:
        member.name = name.strip()
        member.save(update_fields=["name"])
    identity = Identity.objects.create(
        connection=connection,
        kind=kind,
        external_id=external_id,
        member=member,
        email=email.strip(),
        created_at=clock.now(),
    )
    return MemberFound(member, how, identity)


def _new_person_lock(connection: Connection, kind: str, external_id: str, email: str) -> None:
    """On PostgreSQL, lock this identity and this address until the transaction ends, so a concurrent transaction
    about the same id, or another id with the same address, neither records the identity twice nor makes a second
    member for one address. (SQLite runs one writing transaction at a time: nothing to do.)"""
    db = transaction.get_connection()
    if db.vendor != "postgresql":
        return
    names = [f"identity:{connection.pk}:{kind}:{external_id}"]
    if email_normalize(email):
        names.append(f"email:{email_normalize(email)}")
    keys = sorted(int.from_bytes(hashlib.sha256(n.encode()).digest()[:8], "big", signed=True) for n in names)
    with db.cursor() as cursor:  # always in the same order: two transactions never wait for each other's
        cursor.execute("SELECT " + ", ".join(["pg_advisory_xact_lock(%s)"] * len(keys)), keys)


def identity_email_change(*, identity: Identity, email: str) -> EmailChange:
    """The connection now gives another address for this id: the identity and its member take it (a later
    delivery with the new address finds her by it). The old address stays on nobody."""
    member = identity.member
    old = member.email
    identity.email = email.strip()
    identity.save(update_fields=["email"])
    member_email_set(member=member, email=email)
    return EmailChange(member, old, member.email)


def member_email_set(*, member: Member, email: str) -> EmailChange:
    """Set a member's email; the normalized form follows (Member.save keeps it in step)."""
    old = member.email
    member.email = email.strip()
    member.save(update_fields=["email"])
    return EmailChange(member, old, member.email)


def _connection_identity_kinds() -> tuple[str, ...]:
    return tuple(k for k, _ in Identity.KIND_CHOICES if k != MERGED_MEMBER_ID)


def _member_external_id(connection: Connection, kind: str, external_id: str) -> str:
    """A new member's own id, namespaced by the connection that brought her: "shop/customer/42"."""
    text = f"{connection.name}/{kind}/{external_id}"
    return text if len(text) <= 64 else f"{connection.name[:20]}/" + hashlib.sha256(text.encode()).hexdigest()[:40]


# ---- connections ----


@dataclass(frozen=True)
class SecretsSet:
    """Which of a connection's secrets were replaced (None passed: left as it was)."""

    connection: Connection
    credentials: bool
    webhook_secret: bool


def connection_create(
    *,
    kind: str,
    name: str,
    url: str = "",
    credentials: dict | None = None,
    webhook_secret: str = "",
    settings: dict | None = None,
) -> Connection:
    """A new connection; its secrets are sealed before they reach the database."""
    if kind not in CONNECTION_KINDS:
        raise ServiceError(
            "invalid_value", f"{kind!r} is not a kind of connection; one of {', '.join(CONNECTION_KINDS)}", field="kind"
        )
    try:
        validate_slug(name)
    except ValidationError:
        raise ServiceError(
            "invalid_value", f"{name!r} is not a valid name: letters, digits, - and _ only", field="name"
        ) from None
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            raise ServiceError("invalid_value", f"{url!r} is not an http(s) URL", field="url") from None
    if settings is not None and not isinstance(settings, dict):
        raise ServiceError("invalid_value", "settings must be an object", field="settings")
    with transaction.atomic():
        if Connection.objects.filter(name=name).exists():
            raise ServiceError("duplicate_id", f"a connection named {name!r} already exists", field="name")
        connection = Connection(kind=kind, name=name, url=url, settings=settings or {}, created_at=clock.now())
        connection.set_credentials(credentials)
        connection.set_webhook_secret(webhook_secret)
        connection.save()
    return connection


def connection_secrets_set(
    *, connection: Connection, credentials: dict | None = None, webhook_secret: str | None = None
) -> SecretsSet:
    """Replace a connection's credentials and/or webhook secret (None: keep; {} or "": clear)."""
    fields = []
    if credentials is not None:
        connection.set_credentials(credentials)
        fields.append("credentials_sealed")
    if webhook_secret is not None:
        connection.set_webhook_secret(webhook_secret)
        fields.append("webhook_secret_sealed")
    if fields:
        connection.save(update_fields=fields)
    return SecretsSet(connection, credentials is not None, webhook_secret is not None)


def connection_delivery_record(*, connection: Connection, at: datetime | None = None) -> None:
    """A delivery (webhook) arrived from the connection."""
    Connection.objects.filter(pk=connection.pk).update(last_delivery_at=at or clock.now())


def connection_success_record(*, connection: Connection, at: datetime | None = None) -> None:
    """A call to the connection, or a delivery from it, went through: failures start counting from zero."""
    Connection.objects.filter(pk=connection.pk).update(last_success_at=at or clock.now(), consecutive_failures=0)


def connection_failure_record(*, connection: Connection, error: str, at: datetime | None = None) -> None:
    """A call to the connection failed. The error is stored without any of the connection's secrets in it."""
    Connection.objects.filter(pk=connection.pk).update(
        consecutive_failures=F("consecutive_failures") + 1, last_error=_scrubbed(connection, error)[:2000]
    )


def connection_signature_refused(*, connection: Connection, at: datetime | None = None) -> None:
    """A delivery claiming to come from the connection had a wrong signature and was refused."""
    Connection.objects.filter(pk=connection.pk).update(
        refused_signatures=F("refused_signatures") + 1, last_delivery_at=at or clock.now()
    )


def _scrubbed(connection: Connection, text: str) -> str:
    secrets = [connection.webhook_secret, *(str(v) for v in connection.credentials.values())]
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "[secret]")
    return text


# ---- merging two members ----

# When a row of `absorb` would collide with a row of `keep` on a unique constraint, the absorbed row lets go of
# the member (its foreign key is set to NULL) when it may, and is deleted otherwise: the kept member's row wins,
# and the reconciler recomputes derived rows (enrollments, grant records, access) from the sources, which all
# move. A source app that knows better has a resolver wired for its model (wiring.member_merge_resolvers):
# resolver(kept_row, absorbed_row, now) runs first and may change both rows (keep the stronger of two roles, end
# a holding); whatever of the absorbed row still points at `absorb` afterwards is then released or deleted.


@dataclass(frozen=True)
class Absorbed:
    """What a merge did: rows moved to the kept member and rows of the absorbed one dropped, per model label."""

    keep: Member
    absorbed_external_id: str
    moved: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)


def member_absorb(*, keep: Member, absorb: Member, now: datetime | None = None) -> Absorbed:
    """Move everything that points at `absorb` to `keep`, then delete `absorb`.

    Every reverse relation of Member is followed (hidden ones too), so each source, the ledger, the outbox,
    events' records and identities move. Where moving a row would break a unique constraint (both had the same
    enrollment, grant record or access row), the kept member's row stays and the absorbed one is settled as
    the resolvers say. `absorb`'s external id becomes an identity of `keep`, so events that still name it find
    `keep`. Call it inside an event (members.merge.members_merge), which reconciles `keep` afterwards."""
    if keep.pk == absorb.pk:
        raise ServiceError("invalid_value", "a member cannot be merged into herself", field="absorb")
    now = now or clock.now()
    moved: dict[str, int] = {}
    dropped: dict[str, int] = {}
    with transaction.atomic():
        for relation in _member_relations():
            model, fk = relation.related_model, relation.field
            label = model._meta.label_lower
            rows = model._base_manager.filter(**{fk.name: absorb.pk})
            if not rows.exists():
                continue
            dropped[label] = _settle_collisions(model, fk, keep, absorb, now, one_to_one=relation.one_to_one)
            moved[label] = rows.update(**{fk.name: keep.pk})
        absorbed_external_id = absorb.external_id
        user_id = absorb.user_id
        fill = {"email": absorb.email, "name": absorb.name}
        Identity.objects.create(
            connection=None, kind=MERGED_MEMBER_ID, external_id=absorbed_external_id, member=keep, created_at=now
        )
        Member.objects.filter(pk=absorb.pk).delete()
        changed = []
        if user_id is not None and keep.user_id is None:
            keep.user_id = user_id
            changed.append("user")
        for name, value in fill.items():
            if value and not getattr(keep, name):
                setattr(keep, name, value)
                changed.append(name)
        if changed:
            keep.save(update_fields=changed)
    return Absorbed(
        keep, absorbed_external_id, {k: v for k, v in moved.items() if v}, {k: v for k, v in dropped.items() if v}
    )


def _member_relations() -> list:
    """Every relation pointing at Member, hidden ones (related_name="+") included: Member._meta.related_objects
    leaves those out."""
    return [
        f
        for f in Member._meta.get_fields(include_hidden=True)
        if f.auto_created and not f.concrete and (f.one_to_many or f.one_to_one) and f.related_model is not Member
    ]


def _settle_collisions(model, fk, keep: Member, absorb: Member, now: datetime, *, one_to_one: bool) -> int:
    """Settle every row of `absorb` that would collide with one of `keep` once moved; how many were dropped."""
    unique_sets: list[tuple[tuple[str, ...], Q | None]] = []
    if one_to_one or fk.unique:
        unique_sets.append(((), None))
    for names in model._meta.unique_together:
        if fk.name in names:
            unique_sets.append((tuple(n for n in names if n != fk.name), None))
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and fk.name in (constraint.fields or ()):
            others = tuple(n for n in constraint.fields if n != fk.name)
            unique_sets.append((others, constraint.condition))
    dropped = 0
    manager = model._base_manager
    from membersync import wiring  # the sources' resolvers, imported when a merge first needs them

    resolver = wiring.member_merge_resolvers().get(model._meta.label_lower)
    for others, condition in unique_sets:
        mine = manager.filter(**{fk.name: absorb.pk})
        theirs = manager.filter(**{fk.name: keep.pk})
        if condition is not None:
            mine, theirs = mine.filter(condition), theirs.filter(condition)
        attnames = [model._meta.get_field(n).attname for n in others]
        for row in list(mine):
            match = {a: getattr(row, a) for a in attnames}
            kept = theirs.filter(**match).first()
            if kept is None:
                continue
            if resolver is not None:
                resolver(kept, row, now)
                if not manager.filter(pk=row.pk, **{fk.name: absorb.pk}).exists():
                    dropped += 1
                    continue
            if fk.null:
                manager.filter(pk=row.pk).update(**{fk.name: None})
            else:
                manager.filter(pk=row.pk).delete()
            dropped += 1
    return dropped
