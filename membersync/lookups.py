"""Finding a record by the id the outside world gives it, or refusing with `not_found` naming the field."""

from __future__ import annotations

from typing import TypeVar

from django.db import models

from membersync.errors import NotFound

M = TypeVar("M", bound=models.Model)


def by_external_id(records: type[M] | models.QuerySet, external_id: object, *, what: str, field: str) -> M:
    """The record of `records` (a model or a queryset) whose external_id is `external_id`."""
    query = records.objects.all() if isinstance(records, type) else records
    found = query.filter(external_id=str(external_id)).first()
    if found is None:
        raise NotFound(what, external_id, field=field)
    return found
