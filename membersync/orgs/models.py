"""Organizations, seats and licenses (issue 4)."""
