"""``GoogleCalendarClient``: the ``CalendarClient`` port on google-api-python-client.

One service is built per credential from the bundled discovery document (no network at build
time), with ``api_endpoint`` set to ``<root>calendar/v3/`` so the emulator and Google are the
same code. Every call takes a rate-limit token, runs under the retry policy and is counted.
Threading: see ``transport`` (one ``AuthorizedHttp`` per thread).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any

from googleapiclient.discovery import build

from calsync_operator.google.batch import BatchWriter
from calsync_operator.google.credentials import ManagedCredentials
from calsync_operator.google.endpoints import GoogleSettings
from calsync_operator.google.ratelimit import TokenBucket, shared_bucket
from calsync_operator.google.retry import RetryPolicy, call_with_retries
from calsync_operator.google.transport import Transport
from calsync_operator.sync.port import (
    CalendarNotFound,
    Channel,
    Event,
    GoogleError,
    ListResult,
    SyncTokenExpired,
    WriteOp,
    WriteResult,
)

MAX_RESULTS = 2500  # Google's maximum page size: fewer round trips, fewer quota units


class GoogleCalendarClient:
    """One credential's Calendar client: batched, retried, rate-limited. Blocking; thread-safe."""

    def __init__(
        self,
        credentials: ManagedCredentials,
        settings: GoogleSettings,
        *,
        limiter: TokenBucket | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        page_size: int = MAX_RESULTS,
    ) -> None:
        self.credentials = credentials
        self._page_size = page_size
        self.settings = settings
        self.limiter = limiter or shared_bucket(credentials.key, settings.rate_per_minute, settings.burst)
        self._policy = policy or RetryPolicy(max_attempts=settings.max_attempts)
        self._sleep = sleep
        self._transport = Transport(credentials, timeout=settings.http_timeout)
        self._service = build(
            "calendar",
            "v3",
            credentials=credentials.credentials,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": settings.calendar_endpoint},
        )
        # Resources are built once (each costs milliseconds); they only create request objects.
        self._events = self._service.events()
        self._channels = self._service.channels()
        self._writer = BatchWriter(
            self._service,
            self._transport,
            self.limiter,
            batch_uri=settings.batch_uri,  # the library would send batches to Google otherwise
            batch_size=settings.batch_size,
            policy=self._policy,
            sleep=sleep,
        )

    @classmethod
    def from_token_json(
        cls, token_json: str, *, source: str, settings: GoogleSettings | None = None
    ) -> GoogleCalendarClient:
        settings = settings or GoogleSettings.from_env()
        return cls(ManagedCredentials(token_json, source=source, token_uri=settings.token_uri), settings)

    def close(self) -> None:
        self._transport.close()

    def _call(self, method: str, make_request: Callable[[], Any]) -> Any:
        def attempt() -> Any:
            self.limiter.acquire()
            return self._transport.execute(method, make_request())

        return call_with_retries(self._policy, method, attempt, sleep=self._sleep)

    def _all_pages(
        self, method: str, make_request: Callable[[str | None], Any]
    ) -> tuple[list[Event], str, int]:
        """Every page of a list, same query each time; nextSyncToken only comes on the last."""
        events: list[Event] = []
        page_token: str | None = None
        pages = 0
        while True:
            page = self._call(method, functools.partial(make_request, page_token))
            pages += 1
            events.extend(page.get("items", []))
            page_token = page.get("nextPageToken")
            if not page_token:  # pages may be short or empty mid-stream: only the token counts
                return events, str(page.get("nextSyncToken") or ""), pages

    def list_events(
        self,
        calendar_id: str,
        *,
        sync_token: str | None = None,
        time_min: str | None = None,
        time_max: str | None = None,
        single_events: bool = False,
        private_extended_property: str | None = None,
        show_deleted: bool = False,
        ical_uid: str | None = None,
    ) -> ListResult:
        """Full (window applied) without ``sync_token``; incremental with it. Google refuses
        timeMin/timeMax/privateExtendedProperty next to a sync token, so they are not sent
        then (deletions are always included); ``single_events`` must match the full listing."""
        params: dict[str, Any] = {"calendarId": calendar_id, "maxResults": self._page_size}
        if single_events:
            params["singleEvents"] = True
        if sync_token:
            params["syncToken"] = sync_token
        else:
            optional = {
                "timeMin": time_min,
                "timeMax": time_max,
                "privateExtendedProperty": private_extended_property,
                "showDeleted": show_deleted or None,
                "iCalUID": ical_uid,
            }
            params.update({k: v for k, v in optional.items() if v is not None})
        events_api = self._events
        try:
            events, next_sync_token, pages = self._all_pages(
                "events.list", lambda token: events_api.list(**params, pageToken=token)
            )
        except GoogleError as exc:
            if exc.status == 410 and not isinstance(exc, SyncTokenExpired):
                raise SyncTokenExpired(410, exc.reason or "fullSyncRequired", exc.message) from None
            if exc.status == 404:
                raise CalendarNotFound(calendar_id, exc.message) from None
            if sync_token and exc.status == 400 and exc.reason == "invalid":
                # A sync token Google does not understand (its answer to garbage is not
                # documented): the cure is the same as for an expired one, a full listing.
                raise SyncTokenExpired(400, exc.reason, exc.message) from None
            raise
        return ListResult(events=events, next_sync_token=next_sync_token, pages=pages)

    def get_event(self, calendar_id: str, event_id: str) -> Event | None:
        """The event (cancelled ones included, as Google returns them); None when unknown."""
        events_api = self._events
        try:
            event: Event = self._call(
                "events.get", lambda: events_api.get(calendarId=calendar_id, eventId=event_id)
            )
        except GoogleError as exc:
            if exc.status in (404, 410):
                return None
            raise
        return event

    def instances(
        self,
        calendar_id: str,
        event_id: str,
        *,
        time_min: str | None = None,
        time_max: str | None = None,
        original_start: str | None = None,
        show_deleted: bool = False,
    ) -> list[Event]:
        """Every instance of a recurring event in the window (or the one at ``original_start``);
        [] when the master is gone."""
        params: dict[str, Any] = {"calendarId": calendar_id, "eventId": event_id}
        window = {
            "timeMin": time_min,
            "timeMax": time_max,
            "maxResults": self._page_size,
            "originalStart": original_start,
            "showDeleted": show_deleted or None,
        }
        params.update({k: v for k, v in window.items() if v})
        events_api = self._events
        try:
            events, _, _ = self._all_pages(
                "events.instances", lambda token: events_api.instances(**params, pageToken=token)
            )
        except GoogleError as exc:
            if exc.status in (404, 410):
                return []
            raise
        return events

    def write(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        return self._writer.write(ops)

    def watch(
        self, calendar_id: str, *, channel_id: str, address: str, token: str, ttl_seconds: int | None = None
    ) -> Channel:
        body: dict[str, Any] = {"id": channel_id, "type": "web_hook", "address": address, "token": token}
        if ttl_seconds is not None:
            body["params"] = {"ttl": str(ttl_seconds)}
        events_api = self._events
        answer = self._call("events.watch", lambda: events_api.watch(calendarId=calendar_id, body=body))
        # Store what Google says (id, resourceId, expiration in ms), not what we asked for.
        return Channel(
            id=str(answer.get("id", channel_id)),
            resource_id=str(answer["resourceId"]),
            expiration_ms=int(answer.get("expiration") or 0),
            token=token,
        )

    def stop_channel(self, channel_id: str, resource_id: str) -> None:
        """Stop a channel; one that is already gone (404) counts as stopped."""
        channels_api = self._channels
        body = {"id": channel_id, "resourceId": resource_id}
        try:
            self._call("channels.stop", lambda: channels_api.stop(body=body))
        except GoogleError as exc:
            if exc.status != 404:
                raise
