"""What the routers share: the documented answers of an operation, the caller as an actor, moments, pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

from django.http import HttpResponse
from ninja import Schema
from ninja.responses import NinjaJSONEncoder
from pydantic import AfterValidator, Field

from membersync.actors import Actor
from membersync.datebounds import out_of_range
from membersync.errors import ServiceError
from membersync.timeparse import MomentError, parse_moment

from .errors import ERRORS
from .idempotency import OPENAPI_HEADER

SOURCE = "api"
LIMIT_MAX = 500


def _bounded(value: datetime) -> datetime:
    """A moment within the dates MemberSync takes (durations are added to it), in UTC when no zone is given."""
    why = out_of_range(value)
    if why:
        raise ValueError(why)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# An id as the outside world gives it; a moment; a name; a page cursor.
Id = Annotated[str, Field(min_length=1, max_length=64)]
Moment = Annotated[datetime, AfterValidator(_bounded)]
Name = Annotated[str, Field(max_length=200)]
Cursor = Annotated[int, Field(ge=1, le=2**62)]
Limit = Annotated[int, Field(ge=1, le=LIMIT_MAX)]


def answers(schema, status: int = 200) -> dict:
    """An operation's documented answers: its success and every refusal."""
    return {status: schema, **ERRORS}


# Every write documents the Idempotency-Key header.
WRITE = {"openapi_extra": OPENAPI_HEADER}


class Done(Schema):
    outcome: str  # applied | duplicate
    event: int | None = None


def done(result) -> dict:
    return {"outcome": result.outcome, "event": result.event_id}


def rendered(body: dict) -> HttpResponse:
    """A 200 answer already in its schema's shape, rendered as the API renders every answer but without being
    validated again: for the access checks, built from typed rows and called more than anything else."""
    return HttpResponse(json.dumps(body, cls=NinjaJSONEncoder), content_type="application/json; charset=utf-8")


def actor_of(request) -> Actor:
    return request.actor


def moment(text: str | None, *, field: str) -> datetime | None:
    if text is None or text == "":
        return None
    try:
        return parse_moment(text)
    except MomentError as error:
        raise ServiceError("invalid_value", str(error), field=field) from None
