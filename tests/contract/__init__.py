"""Contract fixtures: faithful stand-ins for the external systems, for tests and benchmarks only (never the product)."""
