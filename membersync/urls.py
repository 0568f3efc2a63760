from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from membersync.portal.throttle import ThrottledAdminAuthenticationForm

# The admin's login is throttled like the portal's (membersync/portal/throttle.py).
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path("portal/", include("membersync.portal.urls")),
    path("webhooks/", include("membersync.connectors.urls")),
    path("api/v1/", include("membersync.api.urls", namespace="api")),
    path("", include("membersync.ops.urls")),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
