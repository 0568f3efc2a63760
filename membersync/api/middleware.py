"""Django's browser middleware, passed over by the API's requests (settings.MIDDLEWARE names these in their place).

A request to /api/ is authenticated by its key, sends no session or CSRF cookie that matters (every API view is
CSRF-exempt: a key is not sent by a browser on its own) and shows no message: sessions, CSRF, the logged-in user
and messages would only cost each access check time. Every other request goes through them unchanged."""

from __future__ import annotations

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.csrf import CsrfViewMiddleware

API_PREFIX = "/api/"


def _is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


class BrowserSessionMiddleware(SessionMiddleware):
    def __call__(self, request):
        return self.get_response(request) if _is_api(request) else super().__call__(request)


class BrowserCsrfViewMiddleware(CsrfViewMiddleware):
    def __call__(self, request):
        return self.get_response(request) if _is_api(request) else super().__call__(request)

    def process_view(self, request, callback, callback_args, callback_kwargs):
        return None if _is_api(request) else super().process_view(request, callback, callback_args, callback_kwargs)


class BrowserAuthenticationMiddleware(AuthenticationMiddleware):
    def __call__(self, request):
        return self.get_response(request) if _is_api(request) else super().__call__(request)


class BrowserMessageMiddleware(MessageMiddleware):
    def __call__(self, request):
        return self.get_response(request) if _is_api(request) else super().__call__(request)
