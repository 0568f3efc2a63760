"""An httpx transport that hands requests to Django's test client: a contract stand-in delivering its webhooks
into MemberSync in the same process and database transaction as the test (Django's test client keeps the
test's connection open, where a plain WSGI call would close it at the end of each request)."""

from __future__ import annotations

import httpx
from django.test import Client


class DjangoTestClientTransport(httpx.BaseTransport):
    def __init__(self) -> None:
        self.client = Client()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        headers = {name: value for name, value in request.headers.items() if name.lower() != "content-length"}
        content_type = headers.pop("content-type", "application/octet-stream")
        response = self.client.generic(
            request.method,
            request.url.raw_path.decode(),
            data=request.read(),
            content_type=content_type,
            headers=headers,
        )
        return httpx.Response(response.status_code, content=response.content, headers=dict(response.items()))
