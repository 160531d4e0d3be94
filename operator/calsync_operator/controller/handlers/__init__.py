"""kopf handlers: thin wiring between kopf's causes and the operator's passes.

``build_registry()`` registers every handler into a fresh ``kopf.OperatorRegistry`` (no global
state: tests start and stop operators at will). The handlers only translate: kopf kwargs in,
``sync_pass.run_pass`` / ``teardown.tear_down`` called under the object's lock, kopf's error
types out. All of them are async and return None.

- ``resource``: create/resume/spec-update reconcile (PermanentError + Ready=False for a bad
  spec, TemporaryError for retryable Google trouble), the raw-event wake-up, the deletion.
- ``worker``: one daemon per CalendarSync that runs passes for pushes, ``requested-at``, the
  poll, retries, channel overlaps and Secret changes.
- ``sharding``: the ``when=`` filters that keep a replica to its own shard, and the standby
  on-delete handler that leaves other shards' finalizers alone.
- ``secrets``: the watch of token Secrets (labelled ``app.kubernetes.io/part-of=calsync``) that
  keeps them for the clients and wakes the CalendarSyncs using a Secret when it changes.
"""

from __future__ import annotations

import asyncio

import kopf

from calsync_operator.api.names import GROUP, PART_OF_LABEL, PART_OF_VALUE, PLURAL, VERSION
from calsync_operator.controller.handlers import resource, secrets, sharding, worker
from calsync_operator.controller.rules.shard import Shard
from calsync_operator.kube.login import Login


def build_registry(*, login: Login | None = None, shard: Shard | None = None) -> kopf.OperatorRegistry:
    """Every calsync handler in a new registry. ``login``: how kopf logs in (the runner passes
    the one its own Kubernetes calls use; kopf asks again after a 401); None keeps kopf's
    default login.
    ``shard``: this replica's shard (None: the only replica); every CalendarSync handler is
    filtered by it."""
    registry = kopf.OperatorRegistry()
    cr = (GROUP, VERSION, PLURAL)

    if login is not None:
        log_in = login

        @kopf.on.login(registry=registry)
        async def kopf_login(**_: object) -> kopf.ConnectionInfo:
            return await asyncio.to_thread(log_in)  # may run a kubeconfig's plugin

    part_of = {PART_OF_LABEL: PART_OF_VALUE}
    kopf.on.event("", "v1", "secrets", labels=part_of, registry=registry)(secrets.token_secret_event)
    mine = shard or Shard()
    owned = sharding.owned_filter(mine)
    kopf.on.create(*cr, when=owned, registry=registry)(resource.reconcile)
    kopf.on.resume(*cr, when=owned, registry=registry)(resource.reconcile)
    kopf.on.update(*cr, field="spec", when=owned, registry=registry)(resource.reconcile)
    kopf.on.event(*cr, when=owned, registry=registry)(resource.wake)
    kopf.on.delete(*cr, retries=resource.DELETE_RETRIES, when=owned, registry=registry)(resource.delete)
    kopf.daemon(*cr, cancellation_backoff=worker.CANCELLATION_BACKOFF, when=owned, registry=registry)(
        worker.sync_worker
    )
    if mine.count > 1:
        standby = sharding.standby_filter(mine)
        kopf.on.delete(*cr, when=standby, registry=registry)(sharding.standby_delete(mine))
    return registry
