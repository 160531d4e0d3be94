"""Who wrote each CalendarSync's status, from a watch of a namespace on a real API server.

Every status write of the operator raises ``status.revision`` by one and names its writer in
``status.shard`` (docs/operator.md, "Shards"). So an event whose revision differs from the last
one seen for that CalendarSync is a status write, and its ``status.shard`` is the writer.
Other events (the webhook's push annotations, kopf's bookkeeping) carry the last status
unchanged and are not counted: they would credit a replica with a write it made before the
ledger started — e.g. an old replica's last write of a reshard's overlap, still in place until
the new owner writes again.

The watch starts at the namespace's current version (the statuses already there are not
counted). When a loaded API server's watch cache lags (500/504 "Too large resource version")
or the stream is cut, it watches again from the last version it saw, missing nothing; any other
failure is kept and raised by ``stop`` (a ledger with a gap proves nothing).

Used by the shard tests (``tests/operator/shard_processes.py``) and ``bench/shards.py``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from typing import Any

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import ProtocolError

from calsync_operator.api.names import GROUP, PLURAL, VERSION

RETRY_PAUSE = 0.5  # before watching again after the API server's 500/504


class StatusWriteLedger:
    """``writers``: CalendarSync name → the ``status.shard`` of every status write seen;
    ``writes``: CalendarSync name → how many status writes were seen."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.writers: dict[str, set[str]] = defaultdict(set)
        self.writes: Counter[str] = Counter()
        self._custom, self._namespace = client.CustomObjectsApi(api), namespace
        self._watch, self._stopped = watch.Watch(), threading.Event()
        self._error: BaseException | None = None
        listing: dict[str, Any] = self._custom.list_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL
        )  # type: ignore[assignment]
        self._version = str(listing["metadata"]["resourceVersion"])
        self._revisions = {item["metadata"]["name"]: _revision(item) for item in listing["items"]}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> StatusWriteLedger:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopped.set()
        self._watch.stop()
        self._thread.join(10)
        if self._error is not None:
            raise RuntimeError("the status write ledger stopped watching early") from self._error

    def _record(self, obj: dict[str, Any]) -> None:
        name, revision = obj["metadata"]["name"], _revision(obj)
        if revision is None or revision == self._revisions.get(name):
            return
        self._revisions[name] = revision
        self.writes[name] += 1
        shard = (obj.get("status") or {}).get("shard")
        if shard:
            self.writers[name].add(str(shard))

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                for event in self._watch.stream(
                    self._custom.list_namespaced_custom_object,
                    GROUP,
                    VERSION,
                    self._namespace,
                    PLURAL,
                    resource_version=self._version,
                    timeout_seconds=600,
                ):
                    obj = event["object"]
                    self._version = obj["metadata"]["resourceVersion"]
                    self._record(obj)
            except ApiException as exc:
                if exc.status not in (500, 504):
                    self._error = exc
                    return
                time.sleep(RETRY_PAUSE)
            except ProtocolError:  # the stream was cut (by ``stop`` or the server): watch again
                continue


def _revision(obj: dict[str, Any]) -> object:
    return (obj.get("status") or {}).get("revision")
