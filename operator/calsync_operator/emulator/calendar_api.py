"""The Calendar v3 HTTP surface: events.* and channels.stop, as the real client calls them.

Each endpoint goes through ``api_method``, which does what Google's front end does before
and after the method itself: count the call, check the bearer token, apply injected faults,
and render ``ApiError`` in Google's JSON shape. Batch parts reach these same endpoints (see
``app.batch``), so every part counts and can fail on its own.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from calsync_operator.emulator.errors import ApiError, bad_request
from calsync_operator.emulator.listing import parse_list_query
from calsync_operator.emulator.resource import invited_guests
from calsync_operator.emulator.state import EmulatorState

# Set in the ASGI scope of requests the batch endpoint replays: not an HTTP round trip.
BATCH_PART_SCOPE_KEY = "calsync.emulator.batch_part"
USER_SCOPE_KEY = "calsync.emulator.user"  # the bearer token's user (``primary`` is theirs)

Handler = Callable[[Request, EmulatorState], Awaitable[dict[str, Any] | None]]


def emulator_state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def _check_bearer(request: Request, state: EmulatorState) -> str:
    """The token's user; 401 for a missing, unknown or expired token."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    user = state.tokens.user_of(token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        raise ApiError(
            401,
            "authError",
            "Invalid Credentials",
            headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            location="Authorization",
        )
    return user


def api_method(name: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        state = emulator_state(request)
        if not request.scope.get(BATCH_PART_SCOPE_KEY):
            state.counters.round_trip()
        state.counters.call_started()
        try:
            user = _check_bearer(request, state)
            state.store.create_calendar(user, primary=True)  # every user has a primary calendar
            request.scope[USER_SCOPE_KEY] = user  # each batch part sets its own
            decision = state.faults.decide(name)
            if decision.latency:
                await asyncio.sleep(decision.latency)
            if decision.error is not None and not decision.lost_answer:
                raise decision.error
            result = await handler(request, state)
            if decision.error is not None:  # it took effect, but the client hears the error
                raise decision.error
            response: Response = Response(status_code=204) if result is None else JSONResponse(result)
        except ApiError as exc:
            response = JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)
        state.counters.call_finished(name, response.status_code)
        return response

    endpoint.__name__ = name.replace(".", "_")
    return endpoint


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise ApiError(400, "parseError", "Parse Error") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "parseError", "Parse Error")
    return body


def _calendar_id(request: Request) -> str:
    """The path's calendar id; ``primary`` is the token user's primary calendar."""
    calendar_id = str(request.path_params["calendarId"])
    return str(request.scope[USER_SCOPE_KEY]) if calendar_id == "primary" else calendar_id


def _record_send_updates(request: Request, state: EmulatorState, event: dict[str, Any]) -> None:
    """Remember what the client asked for, so tests can prove no invitation went out."""
    value = request.query_params.get("sendUpdates")
    if value is None:
        value = "all" if request.query_params.get("sendNotifications") == "true" else "unspecified"
    mails = invited_guests(_calendar_id(request), event) if value in ("all", "externalOnly") else 0
    state.counters.send_updates(value, mails)


def _query(request: Request) -> dict[str, list[str]]:
    query: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        query.setdefault(key, []).append(value)
    return query


async def events_list(request: Request, state: EmulatorState) -> dict[str, Any]:
    return state.store.list_events(_calendar_id(request), parse_list_query(_query(request)))


async def events_instances(request: Request, state: EmulatorState) -> dict[str, Any]:
    query = parse_list_query(_query(request))
    return state.store.instances(_calendar_id(request), str(request.path_params["eventId"]), query)


async def events_get(request: Request, state: EmulatorState) -> dict[str, Any]:
    return state.store.get_event(_calendar_id(request), str(request.path_params["eventId"]))


async def events_insert(request: Request, state: EmulatorState) -> dict[str, Any]:
    event = state.store.insert_event(_calendar_id(request), await _json_body(request))
    _record_send_updates(request, state, event)
    state.push.changed(_calendar_id(request))
    return event


async def events_import(request: Request, state: EmulatorState) -> dict[str, Any]:
    event = state.store.import_event(_calendar_id(request), await _json_body(request))
    state.push.changed(_calendar_id(request))
    return event


async def _rewrite_event(
    request: Request, state: EmulatorState, write: Callable[[str, str, dict[str, Any]], dict[str, Any]]
) -> dict[str, Any]:
    """``events.update`` and ``events.patch``: the store ``write`` differs, the rest is alike."""
    event_id = str(request.path_params["eventId"])
    event = write(_calendar_id(request), event_id, await _json_body(request))
    _record_send_updates(request, state, event)
    state.push.changed(_calendar_id(request))
    return event


async def events_update(request: Request, state: EmulatorState) -> dict[str, Any]:
    return await _rewrite_event(request, state, state.store.update_event)


async def events_patch(request: Request, state: EmulatorState) -> dict[str, Any]:
    return await _rewrite_event(request, state, state.store.patch_event)


async def events_delete(request: Request, state: EmulatorState) -> None:
    event = state.store.delete_event(_calendar_id(request), str(request.path_params["eventId"]))
    _record_send_updates(request, state, event)
    state.push.changed(_calendar_id(request))


async def events_watch(request: Request, state: EmulatorState) -> dict[str, Any]:
    calendar_id = _calendar_id(request)
    body = await _json_body(request)
    calendar = state.store.calendar(calendar_id)
    root = str(request.base_url)
    resource_uri = f"{root}calendar/v3/calendars/{quote(calendar_id, safe='')}/events?alt=json"
    return state.push.register(calendar_id, calendar.resource_id, resource_uri, body).response()


async def channels_stop(request: Request, state: EmulatorState) -> None:
    body = await _json_body(request)
    if not body.get("id") or not body.get("resourceId"):
        raise bad_request("Required parameters: id and resourceId.", "required")
    state.push.stop_channel(str(body["id"]), str(body["resourceId"]))


def calendar_routes() -> list[Route]:
    """Paths relative to the service root (``<root>calendar/v3/``)."""
    events = "/calendars/{calendarId}/events"
    event = events + "/{eventId}"
    return [
        Route(events, api_method("events.list", events_list), methods=["GET"]),
        Route(events, api_method("events.insert", events_insert), methods=["POST"]),
        Route(events + "/import", api_method("events.import", events_import), methods=["POST"]),
        Route(events + "/watch", api_method("events.watch", events_watch), methods=["POST"]),
        Route(event + "/instances", api_method("events.instances", events_instances), methods=["GET"]),
        Route(event, api_method("events.get", events_get), methods=["GET"]),
        Route(event, api_method("events.update", events_update), methods=["PUT"]),
        Route(event, api_method("events.patch", events_patch), methods=["PATCH"]),
        Route(event, api_method("events.delete", events_delete), methods=["DELETE"]),
        Route("/channels/stop", api_method("channels.stop", channels_stop), methods=["POST"]),
    ]
