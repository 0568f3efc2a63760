"""How a merge of two members settles what both had in the same organization (people.services.member_absorb,
wired in membersync/wiring.py): the kept member takes the stronger of the two roles, and of two seats of the same
type she keeps hers while the absorbed one's seat is freed (its holding ends at the merge)."""

from __future__ import annotations

from datetime import datetime

from .models import ROLES, OrgRole, Seat, SeatHolding


def merge_role_keep_stronger(kept: OrgRole, absorbed: OrgRole, now: datetime) -> None:
    if ROLES.index(absorbed.role) < ROLES.index(kept.role):
        OrgRole.objects.filter(pk=kept.pk).update(role=absorbed.role)


def merge_seat_free_second(kept: Seat, absorbed: Seat, now: datetime) -> None:
    SeatHolding.objects.filter(seat=absorbed, end__isnull=True).update(end=now, ended_by="members merged")
    Seat.objects.filter(pk=absorbed.pk).update(holder=None, held_since=None)
