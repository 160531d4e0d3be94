"""Running the operator: kopf configured for calsync, plus metrics and the heartbeat.

``serve()`` is the whole process in one coroutine so tests and ``calsync demo`` can run exactly
what the Deployment runs (with their own stop flag). kopf is configured the way docs/design.md §7 asks:
our finalizer ``calsync.dev/finalizer``, handler progress and the diff base in ``calsync.dev/``
annotations (the status belongs to calsync alone), standalone (no peering: replicas split the
CalendarSyncs by shard instead, see ``handlers/sharding.py``),
Events only when calsync posts them, the liveness probe on ``/healthz``, JSON logs on demand.

The diff base ignores the signalling annotations (``push.calsync.dev/*``,
``calsync.dev/requested-at``, ``calsync.dev/confirm-delete``): they are handled by the sync
worker, and must neither count as a spec change nor make kopf rewrite its diff base on every
push.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import kopf

from calsync_operator import logs, metrics, process
from calsync_operator.api.names import (
    CONFIRM_DELETE_ANNOTATION,
    FINALIZER,
    GROUP,
    PART_OF_SELECTOR,
    PUSH_ANNOTATION_PREFIX,
    REQUESTED_AT_ANNOTATION,
)
from calsync_operator.controller.handlers import build_registry
from calsync_operator.controller.handlers.sharding import ShardProgressStorage, owns_body
from calsync_operator.controller.memory import MEMO_CONTEXT, OperatorContext
from calsync_operator.controller.rules.shard import Shard
from calsync_operator.heartbeat import all_healthy, liveness_check, run_heartbeat
from calsync_operator.kube import lean_bodies
from calsync_operator.kube.client import KubeApi
from calsync_operator.kube.login import Login
from calsync_operator.mail import Mailer
from calsync_operator.settings import OperatorSettings

logger = logging.getLogger(__name__)

STORAGE_PREFIX = GROUP  # kopf's progress and diff-base annotations live under the API group
IO_THREADS = 32
SIGNAL_ANNOTATIONS = (REQUESTED_AT_ANNOTATION, CONFIRM_DELETE_ANNOTATION)


class SignalBlindDiffBase(kopf.AnnotationsDiffBaseStorage):
    """kopf's annotation diff base without the signalling annotations, written only for the
    objects of this replica's shard (see ``handlers/sharding.py``).

    kopf builds the essence on every watch event (two per push: the webhook's annotation and
    the pass's status) by deep-copying the whole body before dropping the status and most of
    the metadata; the status and ``managedFields`` are the bulk of a CalendarSync, so they are
    left out before the copy (the essence is the same: kopf drops them anyway).
    """

    def __init__(self, *, prefix: str, shard: Shard | None = None) -> None:
        super().__init__(prefix=prefix)
        self.shard = shard or Shard()

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        if owns_body(self.shard, body):
            super().store(body=body, patch=patch, essence=essence)

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        if not extra_fields:
            metadata = {k: v for k, v in body.get("metadata", {}).items() if k != "managedFields"}
            lean = {k: v for k, v in body.items() if k not in ("status", "metadata")}
            body = kopf.Body(cast(kopf.RawBody, {**lean, "metadata": metadata}))
        essence = super().build(body=body, extra_fields=extra_fields)
        annotations = essence.get("metadata", {}).get("annotations", {})
        for key in list(annotations):
            if key.startswith(PUSH_ANNOTATION_PREFIX) or key in SIGNAL_ANNOTATIONS:
                del annotations[key]
        self.remove_empty_stanzas(essence)
        return essence


def shard_of_settings(settings: OperatorSettings) -> Shard:
    return Shard(settings.shard, settings.shards)


def kopf_settings(settings: OperatorSettings) -> kopf.OperatorSettings:
    configured = kopf.OperatorSettings()
    shard = shard_of_settings(settings)
    configured.persistence.finalizer = FINALIZER
    configured.persistence.progress_storage = ShardProgressStorage(shard, prefix=STORAGE_PREFIX)
    configured.persistence.diffbase_storage = SignalBlindDiffBase(prefix=STORAGE_PREFIX, shard=shard)
    configured.posting.loggers = False  # Events on transitions only: calsync posts them itself
    configured.posting.reporting_component = "calsync-operator"  # `kubectl describe`'s "From"
    configured.peering.standalone = True
    configured.peering.mandatory = False
    # Only token Secrets are watched, and only by label (the index also filters client-side).
    configured.watching.label_selectors["", "v1", "secrets"] = PART_OF_SELECTOR
    return configured


def operator_memo(context: OperatorContext) -> kopf.Memo:
    return kopf.Memo({MEMO_CONTEXT: context})


def make_context(settings: OperatorSettings, login: Login) -> OperatorContext:
    return OperatorContext(
        settings=settings,
        kube=KubeApi(login),
        mailer=Mailer.from_settings(settings),
    )


def configure_logging(settings: OperatorSettings) -> None:
    logs.configure_logging(settings.log_format, settings.log_level)


async def serve(
    settings: OperatorSettings,
    login: Login,
    *,
    namespaces: Collection[str] = (),
    stop_flag: asyncio.Event | threading.Event | None = None,
    ready_flag: asyncio.Event | threading.Event | None = None,
) -> None:
    """The operator process: metrics, heartbeat and kopf until ``stop_flag`` or a signal."""
    # Google and Kubernetes calls block in threads (asyncio.to_thread): size the pool for many
    # calls waiting on the network at once, not for the CPU count (2 cores: only 6 threads).
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="calsync-io")
    )
    context = make_context(settings, login)
    metrics.announce_shard(settings.shard, settings.shards)
    if settings.webhook_problem is not None:  # said once at start-up, and by PushActive=False
        logger.warning("Push is off: %s", settings.webhook_problem)
    metrics_server = metrics.serve(settings.metrics_port)
    liveness = f"http://0.0.0.0:{settings.health_port}/healthz"
    heartbeat: asyncio.Task[None] | None = None
    if settings.heartbeat_url:
        heartbeat = asyncio.create_task(
            run_heartbeat(
                settings.heartbeat_url,
                interval=settings.heartbeat_interval,
                # Alive (kopf's probe) and able to reach Kubernetes: a process that is up but
                # cut off from the API server syncs nothing, and silence is what alarms.
                healthy=all_healthy(
                    liveness_check(f"http://127.0.0.1:{settings.health_port}/healthz"),
                    context.kube.reachable,
                ),
            ),
            name="calsync heartbeat",
        )
    trimming = asyncio.create_task(process.return_free_memory(), name="calsync malloc trim")
    watched = tuple(namespaces) or settings.namespaces
    lean_bodies.install()  # kopf keeps every object's last body: without managedFields
    try:
        await kopf.operator(
            registry=build_registry(login=login, shard=shard_of_settings(settings)),
            settings=kopf_settings(settings),
            memo=operator_memo(context),
            standalone=True,
            clusterwide=not watched,
            namespaces=watched,
            liveness_endpoint=liveness,
            stop_flag=stop_flag,
            ready_flag=ready_flag,
        )
    finally:
        await context.kube.close()
        trimming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await trimming
        if heartbeat is not None:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        metrics_server.shutdown()
