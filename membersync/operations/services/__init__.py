"""What an operator changes in the admin, each one event (sync.services.event_apply): the catalog
(`catalog.py`), and the actions on a member's memberships that members.services lacks (`memberships.py`)."""
