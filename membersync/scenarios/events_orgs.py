"""Scenario events and checks for organizations, seats and licenses (issue 4 fills this in)."""
