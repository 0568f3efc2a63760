"""Benchmarks: `membersync bench resync --members N`. Results and commands are in docs/BENCHMARKS.md."""
