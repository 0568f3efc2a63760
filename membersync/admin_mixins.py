"""What the admin modules of every app share."""

from django.contrib import messages
from django.http import HttpResponseRedirect

from membersync.datebounds import EARLIEST, LATEST, RANGE


class ReadOnlyAdminMixin:
    """View only: no add, change or delete from the admin (sources change through services; the ledger and the
    outbox are the system's own records)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DateHierarchyBoundsMixin:
    """A date-hierarchy year outside the dates MemberSync takes (an edited URL: `?start__year=9999`) is refused with
    a message and the list shown without it, instead of Django overflowing (a 500) on the year after it."""

    def changelist_view(self, request, extra_context=None):
        field = getattr(self, "date_hierarchy", None)
        year = request.GET.get(f"{field}__year") if field else None
        if year is not None and not (year.isdigit() and EARLIEST.year <= int(year) <= LATEST.year):
            self.message_user(request, f"{year!r} is not a year MemberSync shows: dates run {RANGE}.", messages.ERROR)
            query = request.GET.copy()
            for key in [k for k in query if k.startswith(f"{field}__")]:
                del query[key]
            return HttpResponseRedirect(f"{request.path}?{query.urlencode()}" if query else request.path)
        return super().changelist_view(request, extra_context)
