"""The Calendar discovery ``Resource``: built once per process, shared by every credential.

Building the service parses the bundled discovery document and generates a method for every
API call: about 1.5 MB and tens of milliseconds each time. Built per credential, 3,000 token
Secrets cost 3,000 builds and gigabytes, and the operator stalls inside ``build()`` at start-up.
Nothing in the built service depends on the credential, though: its methods only create
``HttpRequest`` objects, and google-api-python-client lets every request (and every batch) be
executed with another ``http`` (``execute(http=...)``). So the service is built once per
Calendar endpoint (one in production; tests run several emulators), without credentials, and
``transport`` executes each request with the calling credential's authorized connection.

The shared service's own ``http`` refuses to send anything: a request executed without the
caller's credentials would otherwise go out unauthenticated.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import httplib2
from googleapiclient.discovery import build


class _NoDefaultHttp(httplib2.Http):  # type: ignore[misc]  # httplib2 is untyped
    """The http of the shared service: every request must be executed with a credential's."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Calendar requests must be executed with a credential's http (execute(http=...))")


@dataclass(frozen=True)
class CalendarService:
    """The built service's two resources calsync uses (building a resource costs milliseconds,
    so each is built once too). Thread-safe: calling a method only creates a request object."""

    events: Any
    channels: Any


_lock = threading.Lock()
_services: dict[str, CalendarService] = {}


def calendar_service(endpoint: str) -> CalendarService:
    """The process's Calendar service for ``endpoint`` (``<root>calendar/v3/``), built on first use."""
    with _lock:
        service = _services.get(endpoint)
        if service is None:
            resource = build(
                "calendar",
                "v3",
                http=_NoDefaultHttp(),
                static_discovery=True,  # the bundled document: no network call
                cache_discovery=False,
                client_options={"api_endpoint": endpoint},
            )
            service = _services[endpoint] = CalendarService(resource.events(), resource.channels())
        return service
