"""A Content-Security-Policy header on every response, without a dependency.

The portal works without JavaScript and keeps its styles in portal.css, so its pages get a strict policy: nothing
but same-origin styles and images, no scripts at all. The Django admin loads its own scripts and styles from
/static/; MemberSync's member page draws its timeline with inline styles, so the admin alone also allows inline
styles (never inline scripts).
"""

from __future__ import annotations

from django.urls import reverse

_COMMON = "base-uri 'none'; object-src 'none'; form-action 'self'; frame-ancestors 'none'"
PORTAL_POLICY = f"default-src 'none'; style-src 'self'; img-src 'self'; {_COMMON}"
ADMIN_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    f"font-src 'self'; connect-src 'self'; {_COMMON}"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._admin_prefix: str | None = None

    def _is_admin(self, path: str) -> bool:
        if self._admin_prefix is None:
            self._admin_prefix = reverse("admin:index")
        return path.startswith(self._admin_prefix)

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = ADMIN_POLICY if self._is_admin(request.path) else PORTAL_POLICY
        return response
