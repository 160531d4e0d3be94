"""The cluster state: objects, one resourceVersion counter, and the watch history.

Like etcd behind kube-apiserver, every write gets the next cluster-wide ``resourceVersion`` and is
appended to a per-resource history, so a watch that starts at a list's ``resourceVersion`` receives
exactly the changes after that list: none replayed, none lost. The store is synchronous and has no
I/O: it is driven from a single event loop (the HTTP layer), which makes each write atomic with
respect to list snapshots and watch subscriptions without any lock.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import datetime
import random
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from calsync_operator.kubeemu import errors, objects, patching
from calsync_operator.kubeemu.pagination import Page, Snapshots
from calsync_operator.kubeemu.resources import ResourceType, crd_status, types_from_crd

Key = tuple[str, str, str]  # (group, version, plural)
ObjKey = tuple[str | None, str]  # (namespace, name)
Sink = Callable[["WatchEvent"], None]

CRD_KEY: Key = ("apiextensions.k8s.io", "v1", "customresourcedefinitions")
NAMESPACES_KEY: Key = ("", "v1", "namespaces")
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what apiserver's generateName uses


@dataclasses.dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED / MODIFIED / DELETED
    object: Mapping[str, Any]
    old: Mapping[str, Any] | None  # the previous state, to decide selector transitions
    rv: int

    @property
    def namespace(self) -> str | None:
        return (self.object.get("metadata") or {}).get("namespace")


class Store:
    def __init__(
        self,
        *,
        history_limit: int = 10_000,
        clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    ) -> None:
        self._clock = clock
        self._history_limit = history_limit
        self._revision = 0
        self._types: dict[Key, ResourceType] = {}
        self._objects: dict[Key, dict[ObjKey, dict[str, Any]]] = collections.defaultdict(dict)
        self._history: dict[Key, collections.deque[WatchEvent]] = collections.defaultdict(
            lambda: collections.deque(maxlen=self._history_limit)
        )
        self._compacted: dict[Key, int] = {}  # per resource: the newest revision no longer in history
        self._watchers: dict[Key, list[Sink]] = collections.defaultdict(list)
        self._listeners: list[Callable[[ResourceType, WatchEvent], None]] = []
        self._snapshots = Snapshots()

    # --- the type registry -------------------------------------------------------------------

    def register(self, rtype: ResourceType) -> None:
        self._types[rtype.key] = rtype

    @property
    def types(self) -> list[ResourceType]:
        return list(self._types.values())

    def resolve(self, group: str, version: str, plural: str) -> ResourceType:
        rtype = self._types.get((group, version, plural))
        if rtype is None:
            api = f"{group}/{version}" if group else version
            raise errors.ApiError(
                404, "NotFound", f"the server could not find the requested resource ({plural} in {api})"
            )
        return rtype

    def find(self, plural_or_kind: str) -> ResourceType:
        """Resolve ``calendarsyncs``, ``CalendarSync``, ``secrets`` or ``calendarsyncs.calsync.dev``."""
        wanted = plural_or_kind.lower()
        matches = [
            rtype
            for rtype in self._types.values()
            if wanted
            in {rtype.plural, rtype.kind.lower(), rtype.singular, rtype.qualified_plural, *rtype.shortnames}
        ]
        # Like kubectl: the core group wins ("events" is v1 Events, not events.k8s.io).
        matches.sort(key=lambda rtype: rtype.group != "")
        if matches:
            return matches[0]
        raise KeyError(f"unknown resource {plural_or_kind!r}; known: {sorted(t.plural for t in self.types)}")

    # --- observation -------------------------------------------------------------------------

    def now(self) -> datetime.datetime:
        return self._clock()

    @property
    def resource_version(self) -> int:
        return self._revision

    def add_listener(self, listener: Callable[[ResourceType, WatchEvent], None]) -> None:
        """Called after every write (for helpers waiting on a condition)."""
        self._listeners.append(listener)

    def get(self, rtype: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        obj = self._objects[rtype.key].get((self._ns(rtype, namespace), name))
        if obj is None:
            raise errors.not_found(rtype, name)
        return obj

    def list_objects(
        self,
        rtype: ResourceType,
        namespace: str | None,
        predicate: Callable[[Mapping[str, Any]], bool] = lambda obj: True,
        *,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> Page:
        """Items, list resourceVersion, continue token, remaining count.

        Paginated lists are served from one snapshot, so all pages show the same consistent state
        as a real server's continue tokens guarantee, and the watch can start at its revision.
        """
        if continue_token:
            return self._snapshots.next_page(continue_token, limit)
        items = sorted(
            (
                obj
                for (ns, _), obj in self._objects[rtype.key].items()
                if (namespace is None or ns == namespace) and predicate(obj)
            ),
            key=lambda obj: ((obj["metadata"].get("namespace") or ""), obj["metadata"]["name"]),
        )
        return self._snapshots.first_page(items, self._revision, limit)

    def subscribe(
        self, rtype: ResourceType, since: int | None, sink: Sink
    ) -> tuple[list[WatchEvent], Callable[[], None]]:
        """Start a watch: the backlog after ``since`` (or None for "now") plus live events to ``sink``.

        Both happen in one synchronous step, so no write can fall between the backlog and the
        subscription.
        """
        backlog: list[WatchEvent] = []
        if since is not None and since < self._revision:
            compacted = self._compacted.get(rtype.key, 0)
            if since < compacted:  # some change after ``since`` is gone: the client must re-list
                raise errors.expired(f"too old resource version: {since} ({compacted})")
            backlog = [event for event in self._history[rtype.key] if event.rv > since]
        self._watchers[rtype.key].append(sink)

        def unsubscribe() -> None:
            if sink in self._watchers[rtype.key]:
                self._watchers[rtype.key].remove(sink)

        return backlog, unsubscribe

    # --- writes ------------------------------------------------------------------------------

    def create(
        self, rtype: ResourceType, namespace: str | None, body: Mapping[str, Any], *, strict: bool = False
    ) -> dict[str, Any]:
        """``strict``: reject unknown fields (``?fieldValidation=Strict``) instead of pruning them."""
        self._require_verb(rtype, "create")
        suffix = "".join(random.choices(_SUFFIX_ALPHABET, k=5))
        obj = objects.prepare_create(
            rtype,
            body,
            namespace=namespace,
            now=self._clock(),
            uid=str(uuid.uuid4()),
            name_suffix=suffix,
            strict=strict,
        )
        meta = obj["metadata"]
        if rtype.namespaced:
            if not meta.get("namespace"):
                raise errors.bad_request("the namespace of the object is required for a namespaced resource")
            self._require_live_namespace(meta["namespace"])
        key = (meta.get("namespace"), meta["name"])
        if key in self._objects[rtype.key]:
            raise errors.already_exists(rtype, meta["name"])
        if rtype.key == CRD_KEY:
            obj = self._accept_crd(obj)
        return self._write(rtype, None, obj)

    def patch(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        *,
        content_type: str,
        patch: Any,
        subresource: str | None = None,
        strict: bool = False,
    ) -> dict[str, Any]:
        self._require_verb(rtype, "patch")
        old = self.get(rtype, namespace, name)
        try:
            new = patching.apply_patch(old, content_type, patch, strategic_ok=not rtype.custom)
        except patching.PatchError as exc:
            reason = {415: "UnsupportedMediaType", 422: "Invalid"}.get(exc.code, "BadRequest")
            raise errors.ApiError(exc.code, reason, exc.message) from exc
        self._check_precondition(rtype, old, new)
        return self._update(rtype, old, new, subresource, strict=strict)

    def replace(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        body: Mapping[str, Any],
        *,
        subresource: str | None = None,
        strict: bool = False,
    ) -> dict[str, Any]:
        self._require_verb(rtype, "update")
        old = self.get(rtype, namespace, name)
        if not (body.get("metadata") or {}).get("resourceVersion") and rtype.custom:
            raise errors.invalid(
                rtype, name, "metadata.resourceVersion", "Invalid value: 0x0: must be specified for an update"
            )
        self._check_precondition(rtype, old, body)
        return self._update(rtype, old, body, subresource, strict=strict)

    def delete(
        self, rtype: ResourceType, namespace: str | None, name: str, options: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Delete or mark for deletion; returns the last state and whether it is gone now."""
        self._require_verb(rtype, "delete")
        old = self.get(rtype, namespace, name)
        objects.check_delete_preconditions(rtype, old, (options or {}).get("preconditions") or {})
        meta = old["metadata"]
        if meta.get("deletionTimestamp"):
            return old, False
        if rtype.key == NAMESPACES_KEY:
            return self._terminate_namespace(rtype, old), False
        if meta.get("finalizers"):
            return self._write(rtype, old, objects.mark_deleting(rtype, old, self._clock())), False
        return self._remove(rtype, old), True

    # --- internals ---------------------------------------------------------------------------

    @staticmethod
    def _ns(rtype: ResourceType, namespace: str | None) -> str | None:
        return namespace if rtype.namespaced else None

    @staticmethod
    def _require_verb(rtype: ResourceType, verb: str) -> None:
        if verb not in rtype.verbs:
            raise errors.method_not_allowed(f"{verb} is not supported on {rtype.qualified_plural}")

    def _require_live_namespace(self, namespace: str) -> None:
        ns = self._objects[NAMESPACES_KEY].get((None, namespace))
        if ns is None:
            raise errors.namespace_not_found(namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise errors.ApiError(
                403,
                "Forbidden",
                f"unable to create new content in namespace {namespace} because it is being terminated",
            )

    @staticmethod
    def _check_precondition(rtype: ResourceType, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        wanted = (new.get("metadata") or {}).get("resourceVersion")
        if wanted and str(wanted) != old["metadata"].get("resourceVersion"):
            raise errors.stale(rtype, old["metadata"]["name"])

    def _update(
        self,
        rtype: ResourceType,
        old: dict[str, Any],
        new: Mapping[str, Any],
        subresource: str | None,
        *,
        strict: bool = False,
    ) -> dict[str, Any]:
        if subresource is not None and subresource not in rtype.subresources:
            raise errors.ApiError(
                404, "NotFound", f"the server could not find the requested resource ({rtype}/{subresource})"
            )
        obj = objects.prepare_update(rtype, old, new, subresource=subresource, strict=strict)
        if rtype.key == CRD_KEY:
            obj = self._accept_crd(obj)
        if obj == old:
            return old  # a no-op write changes nothing, not even the resourceVersion
        if objects.is_releasable(obj):
            return self._remove(rtype, obj)
        return self._write(rtype, old, obj)

    def _next_revision(self) -> int:
        self._revision += 1
        return self._revision

    def _write(self, rtype: ResourceType, old: dict[str, Any] | None, obj: dict[str, Any]) -> dict[str, Any]:
        revision = self._next_revision()
        obj["metadata"]["resourceVersion"] = str(revision)
        key = (obj["metadata"].get("namespace"), obj["metadata"]["name"])
        self._objects[rtype.key][key] = obj
        self._emit(rtype, WatchEvent("ADDED" if old is None else "MODIFIED", obj, old, revision))
        return obj

    def _remove(self, rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        revision = self._next_revision()
        gone = copy.deepcopy(obj)
        gone["metadata"]["resourceVersion"] = str(revision)
        namespace = gone["metadata"].get("namespace")
        self._objects[rtype.key].pop((namespace, gone["metadata"]["name"]), None)
        self._emit(rtype, WatchEvent("DELETED", gone, obj, revision))
        if rtype.key == CRD_KEY:
            self._drop_crd_types(gone)
        if namespace is not None:
            self._finish_namespace_if_empty(namespace)
        return gone

    def _emit(self, rtype: ResourceType, event: WatchEvent) -> None:
        history = self._history[rtype.key]
        if len(history) == history.maxlen:  # the oldest event drops out, like an etcd compaction
            self._compacted[rtype.key] = history[0].rv
        history.append(event)
        for sink in list(self._watchers[rtype.key]):
            sink(event)
        for listener in list(self._listeners):
            listener(rtype, event)

    # --- CRDs: registering a CRD makes its resource servable, as on a real cluster ------------

    def _accept_crd(self, crd: dict[str, Any]) -> dict[str, Any]:
        try:
            new_types = types_from_crd(crd)
        except (KeyError, TypeError) as exc:
            crd_type = self.resolve(*CRD_KEY)
            raise errors.invalid(crd_type, crd["metadata"]["name"], "spec", f"Required value: {exc}") from exc
        for rtype in new_types:
            self.register(rtype)
        crd["status"] = crd_status(crd)
        return crd

    def _drop_crd_types(self, crd: Mapping[str, Any]) -> None:
        for rtype in types_from_crd(crd):
            for obj in list(self._objects[rtype.key].values()):
                self._remove(rtype, obj)
            self._types.pop(rtype.key, None)

    # --- namespaces: deleting one deletes its content, then the namespace ---------------------

    def _terminate_namespace(self, ns_type: ResourceType, ns: dict[str, Any]) -> dict[str, Any]:
        marked = objects.mark_deleting(ns_type, ns, self._clock())
        marked.setdefault("status", {})["phase"] = "Terminating"
        marked = self._write(ns_type, ns, marked)
        name = ns["metadata"]["name"]
        for rtype, obj in list(self._objects_in(name)):
            if not obj["metadata"].get("deletionTimestamp"):
                self.delete(rtype, name, obj["metadata"]["name"])
        self._finish_namespace_if_empty(name)
        return marked

    def _objects_in(self, namespace: str) -> Iterator[tuple[ResourceType, dict[str, Any]]]:
        for key, objs in self._objects.items():
            rtype = self._types.get(key)
            if rtype is None or not rtype.namespaced:
                continue
            for (ns, _), obj in list(objs.items()):
                if ns == namespace:
                    yield rtype, obj

    def _finish_namespace_if_empty(self, namespace: str) -> None:
        ns = self._objects[NAMESPACES_KEY].get((None, namespace))
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        if next(self._objects_in(namespace), None) is None:
            self._remove(self._types[NAMESPACES_KEY], ns)
