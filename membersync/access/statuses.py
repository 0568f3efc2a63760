"""Every status of every record, defined once: memberships, subscriptions and licenses (DOMAIN.md)."""

# Membership statuses (WooCommerce Memberships) and the ones that grant access.
ACTIVE = "active"
COMPLIMENTARY = "complimentary"
FREE_TRIAL = "free_trial"
PENDING_CANCEL = "pending_cancel"
DELAYED = "delayed"
PAUSED = "paused"
EXPIRED = "expired"
CANCELLED = "cancelled"
MEMBERSHIP_STATUSES = (ACTIVE, COMPLIMENTARY, FREE_TRIAL, PENDING_CANCEL, DELAYED, PAUSED, EXPIRED, CANCELLED)
GRANTING_STATUSES = frozenset({ACTIVE, COMPLIMENTARY, FREE_TRIAL, PENDING_CANCEL})

# Subscription statuses (WooCommerce Subscriptions); "trash" is a deleted subscription.
SUBSCRIPTION_STATUSES = ("pending", "active", "on-hold", "pending-cancel", "cancelled", "expired", "switched", "trash")
# Ended by the customer, the store or a switch: what it paid for ends (a tied membership is cancelled).
SUBSCRIPTION_ENDED = frozenset({"cancelled", "switched", "trash"})
# No longer paying at all: ended, or expired at the end of its term.
SUBSCRIPTION_GONE = SUBSCRIPTION_ENDED | {"expired"}
# Still running, and may end on its own end date.
SUBSCRIPTION_RUNNING = frozenset({"active", "on-hold"})

# License statuses (openedx license-manager's, with suspended for a paying subscription on hold).
LICENSE_AVAILABLE = "available"
LICENSE_ACTIVE = "active"
LICENSE_SUSPENDED = "suspended"
LICENSE_EXPIRED = "expired"
LICENSE_REVOKED = "revoked"
LICENSE_STATUSES = (LICENSE_AVAILABLE, LICENSE_ACTIVE, LICENSE_SUSPENDED, LICENSE_EXPIRED, LICENSE_REVOKED)
