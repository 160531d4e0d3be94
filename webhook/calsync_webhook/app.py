"""The webhook's HTTP surface: ``POST /push``, ``GET /healthz``, ``GET /readyz``, ``GET /metrics``.

Google retries a push only when answered 500/502/503/504 (docs/design.md §5), so the answers are
chosen for what Google does next: 200 for everything accepted or pointless to retry (unknown
channel, the ``sync`` handshake, a deleted CalendarSync), 403 for a forged token, 503 when the
Kubernetes API did not take the signal. Nothing is written unless the token verified.

This module only wires the parts together; the rules live in ``verify``, ``index``,
``coalesce`` and ``patcher``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from calsync_webhook.coalesce import Coalescer, Edge, PushAction
from calsync_webhook.index import ChannelIndex, SignalTarget
from calsync_webhook.metrics import Outcome, WebhookMetrics
from calsync_webhook.patcher import Patcher, PatchFailed, TargetGone, receipt_stamp
from calsync_webhook.settings import WebhookSettings
from calsync_webhook.verify import (
    CHANNEL_ID_HEADER,
    CHANNEL_TOKEN_HEADER,
    MESSAGE_NUMBER_HEADER,
    RESOURCE_STATE_HEADER,
    HeaderError,
    parse_push_headers,
    token_matches,
)

logger = logging.getLogger(__name__)

_READ_HEADERS = tuple(
    (name, name.encode("latin-1"))
    for name in (
        "content-length",
        CHANNEL_ID_HEADER,
        CHANNEL_TOKEN_HEADER,
        MESSAGE_NUMBER_HEADER,
        RESOURCE_STATE_HEADER,
    )
)


class BackgroundService(Protocol):
    """What the app starts and stops with itself (the index watcher)."""

    @property
    def ready(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class BodyTooLarge(Exception):
    """More than ``max_body_bytes`` declared or received: answered with 413."""


class PushEndpoint:
    """``POST /push``: validate, look up, verify, then signal through the coalescer."""

    def __init__(
        self,
        index: ChannelIndex,
        patcher: Patcher,
        settings: WebhookSettings,
        metrics: WebhookMetrics,
        is_ready: Callable[[], bool],
    ) -> None:
        self._index = index
        self._is_ready = is_ready
        self._patcher = patcher
        self._max_body = settings.max_body_bytes
        self._metrics = metrics
        # Labelled children resolved once: ``labels()`` costs a lock and a dict lookup per call.
        self._outcomes = {outcome: metrics.pushes.labels(outcome.value) for outcome in Outcome}
        self._patches = {
            (edge, result): metrics.patches.labels(edge.value, result)
            for edge in Edge
            for result in ("ok", "error", "gone")
        }
        self.coalescer: Coalescer[SignalTarget] = Coalescer(settings.coalesce_window, self._signal)

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        received = time.time()  # the receipt time, formatted only if the push is signalled
        outcome, response = await self._handle(request, received)
        self._outcomes[outcome].inc()
        self._metrics.latency.observe(time.perf_counter() - started)
        return response

    async def _handle(self, request: Request, received: float) -> tuple[Outcome, Response]:
        # Raw ASGI headers (lower-case bytes) into a dict once, then decode only the few we read:
        # Starlette's Headers.get is a linear scan, decoding every header, per lookup.
        raw = dict(request.scope["headers"])
        headers = {name: raw[key].decode("latin-1") for name, key in _READ_HEADERS if key in raw}
        try:
            await self._check_body(request, headers.get("content-length"))
        except BodyTooLarge:
            return Outcome.TOO_LARGE, _text(413, f"push bodies are limited to {self._max_body} bytes")
        except ClientDisconnect:
            return Outcome.MALFORMED, _text(400, "client disconnected")
        try:
            push = parse_push_headers(headers)
        except HeaderError as exc:
            return Outcome.MALFORMED, _text(400, str(exc))

        ref = self._index.lookup(push.channel_id)
        if ref is None and not self._is_ready():
            # The channel may well be in the list still loading (a sidecar such as cloudflared
            # reaches the pod before readiness does): let Google deliver it again.
            return Outcome.NOT_READY, _text(503, "channel index not loaded yet; retry")
        if ref is None:
            # 200, not 404: Google would keep retrying a channel nobody owns any more.
            logger.debug("push for unknown channel %s ignored", push.channel_id)
            return Outcome.UNKNOWN_CHANNEL, _text(200, "unknown channel")
        target = ref.target
        if not token_matches(push.token, ref.token_hash):
            logger.warning(
                "push for channel %s of %s/%s rejected: channel token does not match",
                push.channel_id,
                target.namespace,
                target.name,
            )
            return Outcome.FORBIDDEN, _text(403, "channel token does not match")
        if push.is_sync:
            return Outcome.SYNC, _text(200, "ok")

        try:
            action = await self.coalescer.push(target, receipt_stamp(received))
        except PatchFailed as exc:
            logger.warning(
                "push signal for source %s of %s/%s failed: %s",
                target.source_key,
                target.namespace,
                target.name,
                exc,
            )
            return Outcome.API_ERROR, _text(503, "the Kubernetes API did not accept the signal; retry")
        except TargetGone:
            return Outcome.GONE, _text(200, "CalendarSync is gone")
        if action is PushAction.LEAD:
            return Outcome.SIGNALLED, _text(200, "ok")
        self._metrics.coalesced.inc()
        return Outcome.COALESCED, _text(200, "ok")

    async def _check_body(self, request: Request, declared: str | None) -> None:
        """Google sends no body. With a Content-Length the server reads exactly that many bytes
        (the rest would be the next request), so the declared length is the body's size;
        without one (chunked), count what arrives and stop as soon as the limit is passed."""
        if declared is not None and declared.isdigit():
            if int(declared) > self._max_body:
                raise BodyTooLarge
            return
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > self._max_body:
                raise BodyTooLarge

    async def _signal(self, target: SignalTarget, stamp: str, edge: Edge) -> None:
        try:
            await self._patcher.signal(target, stamp)
        except TargetGone:
            self._patches[edge, "gone"].inc()
            raise
        except Exception:
            self._patches[edge, "error"].inc()
            raise
        self._patches[edge, "ok"].inc()


def create_app(
    *,
    index: ChannelIndex,
    patcher: Patcher,
    settings: WebhookSettings | None = None,
    background: BackgroundService | None = None,
    metrics: WebhookMetrics | None = None,
) -> Starlette:
    """Build the app. ``background`` (the index watcher) is started and stopped with the app's
    lifespan; without one the index is taken as complete (tests, benchmarks)."""
    settings = settings or WebhookSettings()
    metrics = metrics or WebhookMetrics(channel_count=lambda: len(index))
    is_ready: Callable[[], bool] = (lambda: background.ready) if background else (lambda: True)
    endpoint = PushEndpoint(index, patcher, settings, metrics, is_ready)

    async def healthz(request: Request) -> Response:
        return _text(200, "ok")

    async def readyz(request: Request) -> Response:
        if is_ready():
            return _text(200, "ok")
        return _text(503, "channel index not loaded yet")

    async def metrics_endpoint(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if background is not None:
            background.start()
        try:
            yield
        finally:
            await endpoint.coalescer.aclose()
            if background is not None:
                await asyncio.to_thread(background.stop)

    app = Starlette(
        routes=[
            Route("/push", endpoint.handle, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.coalescer = endpoint.coalescer
    return app


def _text(status: int, message: str) -> Response:
    return PlainTextResponse(message + "\n", status_code=status)
