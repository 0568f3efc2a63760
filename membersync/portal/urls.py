from django.contrib.auth.views import LogoutView
from django.urls import path

from . import views

app_name = "portal"
org = "orgs/<str:org_id>/"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.PortalLoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(next_page="portal:login"), name="logout"),
    path("invitations/join/", views.invitation_join, name="invitation_join"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path(org, views.org_dashboard, name="org_dashboard"),
    path(org + "people/", views.org_people, name="org_people"),
    path(org + "people/invite/", views.org_invite, name="org_invite"),
    path(org + "people/remove/", views.org_person_remove, name="org_person_remove"),
    path(org + "people/role/", views.org_person_role, name="org_person_role"),
    path(org + "people/invitations/cancel/", views.org_invitation_cancel, name="org_invitation_cancel"),
    path(org + "people/invitations/resend/", views.org_invitation_resend, name="org_invitation_resend"),
    path(org + "people/import/template.csv", views.org_import_template, name="org_import_template"),
    path(org + "people/import/report.csv", views.org_import_report, name="org_import_report"),
    path(org + "people/transfer-ownership/", views.org_ownership_transfer, name="org_ownership_transfer"),
    path(org + "people/import/", views.org_import, name="org_import"),
    path(org + "people/export.csv", views.org_export, name="org_export"),
    path(org + "seats/", views.org_seats, name="org_seats"),
    path(org + "seats/assign/", views.org_seat_assign, name="org_seat_assign"),
    path(org + "seats/release/", views.org_seat_release, name="org_seat_release"),
    path(org + "seats/move/", views.org_seat_move, name="org_seat_move"),
    path(org + "licenses/", views.org_licenses, name="org_licenses"),
    path(org + "licenses/assign/", views.org_license_assign, name="org_license_assign"),
    path(org + "licenses/take-back/", views.org_license_take_back, name="org_license_take_back"),
    path(org + "licenses/<str:license_id>/revoke/", views.org_license_revoke, name="org_license_revoke"),
]
