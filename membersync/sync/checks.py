"""System checks for the outbox: a remote sink's calls must end well inside a worker's lease.

A worker that is still calling a remote site when its lease runs out may see another worker take the member's
next operation: the two would then write to the site at once, in no known order. So the longest a batch can
take (its operations, times the calls each can make, times the HTTP timeout) must fit in half the lease.
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from membersync import wiring


@checks.register()
def remote_sinks_finish_inside_the_lease(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    problems = []
    for sink in wiring.sinks().values():
        if sink.transactional:
            continue
        lease = sink.lease_seconds or settings.OUTBOX_LEASE_SECONDS
        batch = min(settings.OUTBOX_BATCH_SIZE, sink.batch_limit)
        longest = sink.longest_batch_seconds(batch, settings.SINK_HTTP_TIMEOUT_SECONDS)
        if longest > lease / 2:
            problems.append(
                checks.Error(
                    f"sink {sink.name!r}: a batch of {batch} operations can take {longest:g} s of HTTP timeouts, "
                    f"more than half its lease ({lease:g} s)",
                    hint="lower SINK_HTTP_TIMEOUT_SECONDS or OUTBOX_BATCH_SIZE, or raise OUTBOX_LEASE_SECONDS",
                    id="membersync.E010",
                )
            )
    return problems
