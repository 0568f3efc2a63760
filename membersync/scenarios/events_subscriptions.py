"""Scenario events for subscriptions (issue 3 fills this in)."""
