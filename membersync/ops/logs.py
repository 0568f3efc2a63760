"""Logs as one line per event, with a correlation id that follows a request (or a delivery) through what it
causes.

`correlation_id` is a context variable: the middleware binds one per HTTP request (the caller's X-Request-ID when
it is a sane token, else a new one) and answers it in X-Request-ID; the webhook views bind `delivery-<pk>` once
the delivery is stored, and whoever applies a delivery later binds the same id with `correlation_bound`.
`CorrelationFilter` puts it on every record, `JsonFormatter` writes each record as one JSON object per line.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import UTC, datetime

from membersync.correlation import correlation_bound, correlation_id  # noqa: F401 (bound here by callers)

HEADER = "X-Request-ID"
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def correlation_new() -> str:
    return uuid.uuid4().hex[:16]


def delivery_correlation(delivery_pk: int) -> str:
    """The correlation id of a webhook delivery: the same when it is received and when it is applied."""
    return f"delivery-{delivery_pk}"


def delivery_correlation_bind(delivery) -> str:
    """A webhook view stored `delivery`: from here on the request's lines carry the delivery's id, and the
    stored-delivery line says which connection and topic it was."""
    value = delivery_correlation(delivery.pk)
    correlation_id.set(value)
    logging.getLogger("membersync.deliveries").info(
        "delivery %s stored", delivery.pk, extra={"connection": delivery.connection.name, "topic": delivery.topic}
    )
    return value


class CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get()
        return True


# Attributes every LogRecord has: anything else passed with `extra=` is written as a field of its own.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "correlation_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, correlation_id, extra fields,
    and the traceback folded into the same line."""

    def format(self, record: logging.LogRecord) -> str:
        # The log's own timestamp is the moment the line is written, not a business time: the wall clock is right.
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        cid = getattr(record, "correlation_id", "") or correlation_id.get()
        if cid:
            line["correlation_id"] = cid
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class CorrelationMiddleware:
    """Binds a correlation id for each request and answers it in X-Request-ID."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get(HEADER, "")
        value = given if _SANE.match(given) else correlation_new()
        token = correlation_id.set(value)
        try:
            response = self.get_response(request)
            # A webhook view rebinds it to its delivery's id: the caller is told the one its delivery goes by.
            response[HEADER] = correlation_id.get()
        finally:
            correlation_id.reset(token)
        return response
