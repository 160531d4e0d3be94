"""The emulator's Starlette application: Google's paths under one root URL.

``<root>calendar/v3/...`` is the Calendar service, ``<root>batch/calendar/v3`` the batch
endpoint, ``<root>token`` and ``<root>auth`` the OAuth endpoints, ``<root>_emulator/...`` the
control API. The Calendar routes are also served directly under the root, because
google-api-python-client uses ``client_options.api_endpoint`` *as* the service URL: both
``api_endpoint=<root>`` and ``api_endpoint=<root>calendar/v3/`` therefore work.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from calsync_operator.emulator.batch import (
    MAX_BATCH_PARTS,
    BatchFormatError,
    BatchPart,
    PartResponse,
    parse_batch,
    render_batch,
)
from calsync_operator.emulator.calendar_api import BATCH_PART_SCOPE_KEY, calendar_routes, emulator_state
from calsync_operator.emulator.control import control_routes
from calsync_operator.emulator.errors import ApiError
from calsync_operator.emulator.oauth import OAuthError
from calsync_operator.emulator.state import EmulatorState


async def _replay(request: Request, part: BatchPart) -> PartResponse:
    """Run one batch part through this same application, in-process."""
    scope = dict(request.scope)
    scope.update(
        {
            "method": part.method,
            "path": unquote(part.path),
            "raw_path": part.path.encode(),
            "query_string": part.query.encode(),
            "root_path": "",
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in part.headers],
            BATCH_PART_SCOPE_KEY: True,
        }
    )
    scope.pop("router", None)
    scope.pop("endpoint", None)
    scope.pop("path_params", None)
    sent = False

    async def receive() -> dict[str, object]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": part.body, "more_body": False}

    status = 500
    headers: list[tuple[str, str]] = []
    chunks: list[bytes] = []

    async def send(message: dict[str, object]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(str(message["status"]))
            raw_headers = message.get("headers", [])
            assert isinstance(raw_headers, list)
            headers.extend((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw_headers)
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            assert isinstance(body, bytes)
            chunks.append(body)

    await request.app(scope, receive, send)
    return PartResponse(part.content_id, status, headers, b"".join(chunks))


async def batch(request: Request) -> Response:
    state = emulator_state(request)
    state.counters.round_trip()
    try:
        decision = state.faults.decide("batch")
        if decision.latency:
            await asyncio.sleep(decision.latency)
        if decision.error is not None and not decision.lost_answer:
            raise decision.error
        try:
            parts = parse_batch(request.headers.get("content-type", ""), await request.body())
        except BatchFormatError as exc:
            raise ApiError(400, "badRequest", str(exc)) from exc
        if len(parts) > MAX_BATCH_PARTS:
            raise ApiError(
                400,
                "batchSizeTooLarge",
                f"Exceeded the maximum calls({MAX_BATCH_PARTS}) in a single batch request.",
            )
        state.counters.batch(len(parts))
        responses = await asyncio.gather(*(_replay(request, part) for part in parts))
        if decision.error is not None:  # every part took effect, but the client hears the error
            raise decision.error
    except ApiError as exc:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)
    content_type, payload = render_batch(list(responses))
    return Response(payload, headers={"Content-Type": content_type})


def _oauth_error(exc: OAuthError | ApiError) -> JSONResponse:
    if isinstance(exc, ApiError):
        body = {"error": exc.reason, "error_description": exc.message}
        return JSONResponse(body, status_code=exc.status, headers=exc.headers)
    return JSONResponse(exc.body(), status_code=exc.status)


async def token(request: Request) -> Response:
    state = emulator_state(request)
    state.counters.round_trip()
    form = dict(parse_qsl((await request.body()).decode()))
    try:
        decision = state.faults.decide("token")
        if decision.latency:
            await asyncio.sleep(decision.latency)
        if decision.error is not None:
            raise decision.error
        response = JSONResponse(state.tokens.token(form), headers={"Cache-Control": "no-store"})
    except (OAuthError, ApiError) as exc:
        response = _oauth_error(exc)
    state.counters.call_finished("token", response.status_code)
    return response


async def authorize(request: Request) -> Response:
    """``GET /auth``: consent is given at once; back to the app with ``code`` and ``state``."""
    state = emulator_state(request)
    state.counters.round_trip()
    params = request.query_params
    try:
        location = state.tokens.authorize(
            params.get("client_id", ""),
            params.get("redirect_uri", ""),
            params.get("state"),
            params.get("scope", ""),
            params.get("login_hint") or None,
        )
    except OAuthError as exc:
        return _oauth_error(exc)
    state.counters.call_finished("auth", 302)
    return RedirectResponse(location, status_code=302)


async def root(request: Request) -> Response:
    body = {"emulator": "calsync Google Calendar v3 emulator", "root": str(request.base_url)}
    return Response(json.dumps(body), media_type="application/json")


def create_app(state: EmulatorState | None = None) -> Starlette:
    emulator = state or EmulatorState()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await emulator.push.start()
        try:
            yield
        finally:
            await emulator.push.stop()

    routes: list[BaseRoute] = [
        Route("/", root, methods=["GET"]),
        Mount("/calendar/v3", routes=calendar_routes()),
        Route("/batch/calendar/v3", batch, methods=["POST"]),
        Route("/batch", batch, methods=["POST"]),
        Route("/token", token, methods=["POST"]),
        Route("/auth", authorize, methods=["GET"]),
        Mount("/_emulator", routes=control_routes()),
        *calendar_routes(),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.emulator = emulator
    return app
