"""What the admin modules of every app share."""


class ReadOnlyAdminMixin:
    """View only: no add, change or delete from the admin (sources change through services; the ledger and the
    outbox are the system's own records)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
