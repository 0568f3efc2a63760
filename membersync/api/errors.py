"""The one error shape of the API, `{"code", "message", "field"}`, with the HTTP status the catalogue gives each code
(membersync/errors.py). Every refusal, whoever raises it (a service, the key check, pydantic, the router), answers
in it; nothing a client sends can make a handler answer 500."""

from __future__ import annotations

import math

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from membersync.errors import CATALOGUE, ServiceError


class Error(Schema):
    code: str
    message: str
    field: str | None = None


# Documented on every operation: what any of them may answer besides its own success.
ERRORS = {status: Error for status in (401, 403, 404, 409, 410, 422, 429)}


class RateLimited(ServiceError):
    def __init__(self, retry_after: float):
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__("rate_limited", f"too many requests for this key: try again in {self.retry_after} s")


def error_response(api: NinjaAPI, request: HttpRequest, error: ServiceError) -> HttpResponse:
    body = {"code": error.code, "message": error.message, "field": error.field}
    response = api.create_response(request, body, status=error.http_status)
    if isinstance(error, RateLimited):
        response["Retry-After"] = str(error.retry_after)
    return response


def _field(location: tuple) -> str | None:
    # pydantic's location starts with where the value came from (body, query, path) and the parameter's name.
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header", "payload")]
    return ".".join(parts) or None


def errors_install(api: NinjaAPI) -> None:
    @api.exception_handler(ServiceError)
    def service_error(request, error: ServiceError):
        return error_response(api, request, error)

    @api.exception_handler(ValidationError)
    def invalid(request, error: ValidationError):
        first = error.errors[0] if error.errors else {}
        message = first.get("msg", "the request is not valid")
        field = _field(tuple(first.get("loc", ())))
        return error_response(api, request, ServiceError("invalid_value", message, field=field))

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, error):
        return error_response(
            api, request, ServiceError("unauthorized", "no live API key was sent", field="Authorization")
        )

    @api.exception_handler(Http404)
    def not_found(request, error):
        return error_response(api, request, ServiceError("not_found", str(error) or "nothing here"))

    @api.exception_handler(HttpError)
    def http_error(request, error: HttpError):
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 429: "rate_limited"}.get(
            error.status_code, "invalid_value"
        )
        refusal = ServiceError(code, str(error))
        response = error_response(api, request, refusal)
        response.status_code = error.status_code if error.status_code in _STATUSES else refusal.http_status
        return response


_STATUSES = {entry.http_status for entry in CATALOGUE.values()}
