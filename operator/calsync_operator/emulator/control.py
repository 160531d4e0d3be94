"""``/_emulator/``: the control API (not Google's), for tests in other processes and demos.

The same operations as ``EmulatorServer``'s Python methods, as JSON over HTTP:

- ``POST /_emulator/refresh-tokens/revoke`` / ``.../restore`` ``{"refresh_token"}``
- ``POST /_emulator/access-tokens/expire``
- ``GET|POST /_emulator/calendars`` (POST body: ``{"id", "primary"}``): list or create calendars
- ``POST /_emulator/users`` ``{"refresh_token", "user"}``: whose tokens these are
- ``POST /_emulator/instance-ids`` ``{"style": "opaque"|"legacy"}``
- ``POST /_emulator/push/allow-http`` ``{"enabled"}`` (watch on http://127.0.0.1)
- ``POST /_emulator/calendars/{calendarId}/events/{eventId}/split``
  ``{"originalStart", "changes"}``: a "this and following events" edit
- ``POST /_emulator/calendars/{calendarId}/invalidate-sync-tokens``
- ``GET /_emulator/calendars/{calendarId}/events?includeCancelled=true``
- ``GET|POST|DELETE /_emulator/faults`` (POST body: method, status, reason, retry_after,
  latency, probability, count, lost_answer)
- ``POST /_emulator/pushes/drop`` ``{"probability"}``
- ``POST /_emulator/pages/short`` ``{"probability"}`` (list pages cut short, even empty)
- ``POST /_emulator/cancelled/minimal`` ``{"enabled"}`` (cancelled events listed with Google's
  guaranteed fields only: the default; ``false`` lists every field)
- ``GET /_emulator/channels?calendarId=``
- ``GET /_emulator/counters``
- ``POST /_emulator/reset``
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from calsync_operator.emulator.errors import ApiError
from calsync_operator.emulator.faults import FaultRule
from calsync_operator.emulator.oauth import TokenRegistry
from calsync_operator.emulator.state import EmulatorState


def _state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise HTTPException(400, "the body must be a JSON object")
    return body


def _problem(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


async def _on_refresh_token(request: Request, act: Callable[[TokenRegistry, str], None]) -> Response:
    """``{"refresh_token": t}`` handed to one of the token registry's switches."""
    body = await _body(request)
    if not body.get("refresh_token"):
        return _problem("refresh_token is required")
    act(_state(request).tokens, str(body["refresh_token"]))
    return Response(status_code=204)


async def revoke_refresh_token(request: Request) -> Response:
    return await _on_refresh_token(request, TokenRegistry.revoke)


async def restore_refresh_token(request: Request) -> Response:
    return await _on_refresh_token(request, TokenRegistry.restore)


async def expire_access_tokens(request: Request) -> Response:
    _state(request).tokens.expire_access_tokens()
    return Response(status_code=204)


async def invalidate_sync_tokens(request: Request) -> Response:
    _state(request).store.invalidate_sync_tokens(str(request.path_params["calendarId"]))
    return Response(status_code=204)


async def calendars(request: Request) -> Response:
    state = _state(request)
    if request.method == "POST":
        body = await _body(request)
        try:
            state.create_calendar(str(body.get("id") or ""), primary=bool(body.get("primary", False)))
        except ValueError as exc:
            return _problem(str(exc))
        return Response(status_code=204)
    return JSONResponse({"items": state.store.calendar_ids()})


async def users(request: Request) -> Response:
    body = await _body(request)
    if not body.get("refresh_token") or not body.get("user"):
        return _problem("refresh_token and user are required")
    _state(request).register_user(str(body["refresh_token"]), str(body["user"]))
    return Response(status_code=204)


async def instance_ids(request: Request) -> Response:
    try:
        _state(request).instance_ids(str((await _body(request)).get("style", "")))
    except ValueError as exc:
        return _problem(str(exc))
    return Response(status_code=204)


async def allow_http_push(request: Request) -> Response:
    _state(request).allow_http_push(bool((await _body(request)).get("enabled", True)))
    return Response(status_code=204)


async def split(request: Request) -> Response:
    body = await _body(request)
    raw = str(body.get("originalStart", ""))
    try:
        split_at: datetime | date = date.fromisoformat(raw) if len(raw) == 10 else datetime.fromisoformat(raw)
        new = _state(request).split_series(
            str(request.path_params["calendarId"]),
            str(request.path_params["eventId"]),
            split_at,
            dict(body.get("changes") or {}),
        )
    except ValueError as exc:
        return _problem(f"originalStart: {exc}")
    except ApiError as exc:
        return JSONResponse(exc.body(), status_code=exc.status)
    return JSONResponse(new, status_code=201)


async def calendar_events(request: Request) -> Response:
    include = request.query_params.get("includeCancelled", "false") == "true"
    return JSONResponse({"items": _state(request).events(str(request.path_params["calendarId"]), include)})


async def faults(request: Request) -> Response:
    state = _state(request)
    if request.method == "DELETE":
        state.faults.clear()
        return Response(status_code=204)
    if request.method == "POST":
        body = await _body(request)
        allowed = {f.name for f in dataclasses.fields(FaultRule)}
        unknown = set(body) - allowed
        if unknown:
            return _problem(f"unknown fault fields: {sorted(unknown)}; allowed: {sorted(allowed)}")
        try:
            rule = state.faults.add(FaultRule(**body))
        except (TypeError, ValueError) as exc:
            return _problem(str(exc))
        return JSONResponse(rule.to_json(), status_code=201)
    return JSONResponse({"items": [r.to_json() for r in state.faults.rules()]})


async def _set_probability(request: Request, setter: Callable[[EmulatorState, float], None]) -> Response:
    """``{"probability": p}`` (default 0: off) handed to one of the state's chaos knobs."""
    body = await _body(request)
    try:
        setter(_state(request), float(body.get("probability", 0.0)))
    except ValueError as exc:
        return _problem(str(exc))
    return Response(status_code=204)


async def drop_pushes(request: Request) -> Response:
    return await _set_probability(request, EmulatorState.drop_pushes)


async def short_pages(request: Request) -> Response:
    return await _set_probability(request, EmulatorState.short_pages)


async def minimal_cancelled(request: Request) -> Response:
    body = await _body(request)
    _state(request).minimal_cancelled(bool(body.get("enabled", True)))
    return Response(status_code=204)


async def channels(request: Request) -> Response:
    return JSONResponse({"items": _state(request).channels(request.query_params.get("calendarId"))})


async def counters(request: Request) -> Response:
    return JSONResponse(_state(request).snapshot().to_json())


async def reset(request: Request) -> Response:
    _state(request).reset()
    return Response(status_code=204)


def control_routes() -> list[Route]:
    return [
        Route("/refresh-tokens/revoke", revoke_refresh_token, methods=["POST"]),
        Route("/refresh-tokens/restore", restore_refresh_token, methods=["POST"]),
        Route("/access-tokens/expire", expire_access_tokens, methods=["POST"]),
        Route("/calendars", calendars, methods=["GET", "POST"]),
        Route("/users", users, methods=["POST"]),
        Route("/instance-ids", instance_ids, methods=["POST"]),
        Route("/push/allow-http", allow_http_push, methods=["POST"]),
        Route("/calendars/{calendarId}/events/{eventId}/split", split, methods=["POST"]),
        Route("/calendars/{calendarId}/invalidate-sync-tokens", invalidate_sync_tokens, methods=["POST"]),
        Route("/calendars/{calendarId}/events", calendar_events, methods=["GET"]),
        Route("/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/pushes/drop", drop_pushes, methods=["POST"]),
        Route("/pages/short", short_pages, methods=["POST"]),
        Route("/cancelled/minimal", minimal_cancelled, methods=["POST"]),
        Route("/channels", channels, methods=["GET"]),
        Route("/counters", counters, methods=["GET"]),
        Route("/reset", reset, methods=["POST"]),
    ]
