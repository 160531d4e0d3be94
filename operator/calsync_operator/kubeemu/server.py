"""The HTTP face of the emulator: kmock's Kubernetes scaffold in front of our ``Store``.

kmock provides the parts worth reusing: the aiohttp request plumbing, the request log, API
discovery, and the reaction DSL (``emulator.server['patch', resource] << 503`` injects a fault;
reactions take priority over the store, and a faulted write never reaches it). kmock's own
``KubernetesEmulator`` storage is replaced: it merged every write as a plain dict, had no
resourceVersion/uid/generation, replayed all objects on every watch and lost events between a
list and a watch. Every object request goes to ``Store`` instead, URLs are read by ``intake``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import aiohttp.web
import attrs
from typing_extensions import override

from calsync_operator.kubeemu import errors, tables
from calsync_operator.kubeemu.intake import header, parse_request
from calsync_operator.kubeemu.internals import dsl, filtering, k8s, references, rendering
from calsync_operator.kubeemu.resources import ResourceType
from calsync_operator.kubeemu.selectors import SelectorError, compile_selectors
from calsync_operator.kubeemu.store import CRD_KEY, Store
from calsync_operator.kubeemu.watching import WatchStreams

_JSON = {"Content-Type": "application/json"}
_SUBRESOURCE_VERBS = ["get", "patch", "update"]


def _is_object_request(request: rendering.Request) -> bool:
    return request.resource is not None and request.resource.plural is not None


@attrs.define(kw_only=True)
class KubeApiServer(k8s.KubernetesScaffold):
    """A kmock handler serving the Kubernetes REST API from a ``Store``."""

    store: Store = attrs.field(factory=Store)
    request_log_limit: int = 10_000
    _watches: WatchStreams = attrs.field(init=False)

    @_watches.default
    def _make_watches(self) -> WatchStreams:
        return WatchStreams(self.store)

    # The built-in routes (discovery, objects, the 404 catch-all) in kmock's priority order.
    _routes: list[tuple[dsl.Reaction, list[filtering.Criteria]]] = attrs.field(factory=list, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.fallback[_is_object_request] << self._serve_object
        # The same ordering as kmock's RawHandler._handle: padded, descending priorities, stable.
        width = max(len(payload.priorities) for payload in self._payloads)
        ordered = sorted(
            self._payloads,
            key=lambda payload: (
                tuple(-p for p in payload.priorities) + (0,) * (width - len(payload.priorities))
            ),
        )
        self._routes = [
            (payload, [view.criteria for view in payload._walk(dsl.Filter)]) for payload in ordered
        ]

    @override
    async def _handle(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        # kmock decides whether a reaction "sees" a request by re-filtering the whole request log
        # (``request in view``), which costs O(requests so far) per request: quadratic over a
        # test or a demo. Without user reactions, match our own routes on this request alone.
        if len(self._payloads) != len(self._routes):  # fault-injection reactions were added
            return await super()._handle(request)
        for reaction, criteria in self._routes:
            if all(criterion(request) for criterion in criteria):
                with contextlib.suppress(NotImplementedError):
                    response: aiohttp.web.StreamResponse = await reaction.response(request)
                    return response
        raise NotImplementedError(f"no route for {request.method} {request.url}")

    @override
    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        # The same flow as kmock's RawHandler.__call__, with our URL parsing (kmock 0.8 internals).
        request = await parse_request(raw_request, id=len(self._requests))
        self._requests.append(request)
        if len(self._requests) > self.request_log_limit:  # a long demo must not grow without bound
            del self._requests[: len(self._requests) - self.request_log_limit]
        try:
            return await self._handle(request)
        except rendering.StreamingError as exc:
            # The headers are out already: end the stream with an ERROR event, as the API does.
            response: aiohttp.web.StreamResponse = exc.args[0]
            cause = exc.__cause__ if isinstance(exc.__cause__, Exception) else exc
            await self._stream_error(cause, response)
            await response.write_eof()
            return response
        except Exception as exc:
            return await self._render_error(exc)

    # --- discovery: derived from the store's type registry, which CRDs extend at runtime ------

    @override
    def _get_resources(self) -> list[references.resource]:
        found: list[references.resource] = []
        for rtype in self.store.types:
            resource = references.resource(rtype.group, rtype.version, rtype.plural)
            self._resources[resource] = references.ResourceInfo(
                namespaced=rtype.namespaced,
                kind=rtype.kind,
                singular=rtype.singular or None,
                verbs=set(rtype.verbs),
                shortnames=set(rtype.shortnames),
                categories=set(rtype.categories),
                subresources=set(rtype.subresources),
            )
            found.append(resource)
        return found

    @override
    async def _serve_version(self, request: rendering.Request) -> rendering.Payload:
        assert request.resource is not None
        group, version = request.resource.group or "", request.resource.version
        types = [t for t in self.store.types if t.group == group and t.version == version]
        if not types:
            return rendering.Response(
                status=404,
                payload=errors.ApiError(
                    404, "NotFound", f"the server could not find the requested resource ({group}/{version})"
                ).as_status(),
            )
        entries: list[dict[str, Any]] = []
        for rtype in sorted(types, key=lambda t: t.plural):
            base = {"singularName": rtype.singular, "namespaced": rtype.namespaced, "kind": rtype.kind}
            entries.append(
                {
                    "name": rtype.plural,
                    **base,
                    "verbs": sorted(rtype.verbs),
                    "shortNames": sorted(rtype.shortnames),
                    "categories": sorted(rtype.categories),
                }
            )
            for sub in sorted(rtype.subresources):
                entries.append(
                    {"name": f"{rtype.plural}/{sub}", **base, "singularName": "", "verbs": _SUBRESOURCE_VERBS}
                )
        return {
            "apiVersion": "v1",
            "kind": "APIResourceList",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": entries,
        }

    # --- objects -------------------------------------------------------------------------------

    async def _serve_object(self, request: rendering.Request) -> rendering.Payload:
        try:
            return self._dispatch(request)
        except errors.ApiError as exc:
            return rendering.Response(status=exc.code, headers=_JSON, payload=exc.as_status())

    def _dispatch(self, request: rendering.Request) -> rendering.Payload:
        assert request.resource is not None
        assert request.resource.plural is not None
        rtype = self.store.resolve(
            request.resource.group or "", request.resource.version or "", request.resource.plural
        )
        namespace = request.namespace
        if namespace is not None and not rtype.namespaced:
            raise errors.ApiError(404, "NotFound", f"{rtype.qualified_plural} is not namespaced")
        if request.params.get("dryRun"):
            raise errors.bad_request("dryRun is not supported by the in-memory API server")
        method = str(request.method.value).upper()
        name, subresource = request.name, request.subresource
        params = request.params
        strict = params.get("fieldValidation") == "Strict"  # kubectl's default; clients default to prune

        if method == "GET" and params.get("watch") in ("true", "1"):
            return self._watch_response(rtype, namespace, name, params, self._columns(rtype, request))
        if method == "GET" and name is None:
            return self._list(rtype, namespace, params, self._columns(rtype, request))
        if method == "GET" and name is not None:
            if subresource not in (None, "status"):
                raise errors.method_not_allowed()
            obj = self.store.get(rtype, namespace, name)
            columns = self._columns(rtype, request)
            return self._ok(obj if columns is None else self._table(columns, [obj], request.params))
        if method == "POST" and name is None:
            created = self.store.create(rtype, namespace, self._body(request), strict=strict)
            return self._ok(created, status=201)
        if method == "PATCH" and name is not None:
            content_type = header(request.headers, "Content-Type") or ""
            return self._ok(
                self.store.patch(
                    rtype,
                    namespace,
                    name,
                    content_type=content_type,
                    patch=request.data,
                    subresource=subresource,
                    strict=strict,
                )
            )
        if method == "PUT" and name is not None:
            return self._ok(
                self.store.replace(
                    rtype, namespace, name, self._body(request), subresource=subresource, strict=strict
                )
            )
        if method == "DELETE" and name is not None and subresource is None:
            options = request.data if isinstance(request.data, Mapping) else {}
            last, gone = self.store.delete(rtype, namespace, name, options)
            if gone and not rtype.custom:
                return self._ok(
                    {
                        "apiVersion": "v1",
                        "kind": "Status",
                        "metadata": {},
                        "status": "Success",
                        "details": {
                            "name": name,
                            "group": rtype.group,
                            "kind": rtype.plural,
                            "uid": last["metadata"].get("uid"),
                        },
                    }
                )
            return self._ok(last)
        if method == "DELETE" and name is None:
            self._require(rtype, "deletecollection")
            predicate = self._selector(rtype, params)
            items, _, _, _ = self.store.list_objects(rtype, namespace, predicate)
            for item in items:
                self.store.delete(rtype, item["metadata"].get("namespace"), item["metadata"]["name"])
            return self._ok(
                {
                    "apiVersion": rtype.api_version,
                    "kind": f"{rtype.kind}List",
                    "metadata": {"resourceVersion": str(self.store.resource_version)},
                    "items": items,
                }
            )
        raise errors.method_not_allowed()

    @staticmethod
    def _ok(payload: Mapping[str, Any], status: int = 200) -> rendering.Payload:
        return rendering.Response(status=status, headers=_JSON, payload=dict(payload))

    @staticmethod
    def _body(request: rendering.Request) -> Mapping[str, Any]:
        content_type = (header(request.headers, "Content-Type") or "application/json").split(";")[0].strip()
        if content_type != "application/json":
            # A real server also takes protobuf and CBOR for built-ins; this one speaks JSON only.
            raise errors.ApiError(
                415,
                "UnsupportedMediaType",
                f'the in-memory API server accepts "application/json" bodies, not "{content_type}"',
            )
        if not isinstance(request.data, Mapping):
            raise errors.bad_request("the body of the request must be a JSON object")
        return request.data

    @staticmethod
    def _selector(rtype: ResourceType, params: Mapping[str, str]) -> Callable[[Mapping[str, Any]], bool]:
        try:
            return compile_selectors(
                params.get("labelSelector", ""),
                params.get("fieldSelector", ""),
                metadata_fields_only=rtype.custom,
            )
        except SelectorError as exc:
            raise errors.bad_request(str(exc)) from exc

    def _columns(self, rtype: ResourceType, request: rendering.Request) -> list[dict[str, Any]] | None:
        """Printer columns when the client asked for a Table (kubectl get), else None."""
        if not tables.wants_table(header(request.headers, "Accept")):
            return None
        crd = None
        if rtype.custom:
            crd_type = self.store.resolve(*CRD_KEY)
            crd = self.store.get(crd_type, None, rtype.qualified_plural)
        return tables.printer_columns(crd, rtype.version)

    def _table(
        self, columns: list[dict[str, Any]], objs: list[dict[str, Any]], params: Mapping[str, str], **kw: Any
    ) -> dict[str, Any]:
        return tables.render_table(
            columns, objs, now=self.store.now(), include_object=params.get("includeObject", "Metadata"), **kw
        )

    def _list(
        self,
        rtype: ResourceType,
        namespace: str | None,
        params: Mapping[str, str],
        columns: list[dict[str, Any]] | None,
    ) -> rendering.Payload:
        self._require(rtype, "list")
        predicate = self._selector(rtype, params)
        limit = int(params["limit"]) if params.get("limit", "").isdigit() else None
        items, revision, token, remaining = self.store.list_objects(
            rtype, namespace, predicate, limit=limit, continue_token=params.get("continue") or None
        )
        metadata: dict[str, Any] = {"resourceVersion": str(revision)}
        if token:
            metadata.update({"continue": token, "remainingItemCount": remaining})
        if columns is not None:
            table = self._table(columns, items, params, resource_version=str(revision))
            table["metadata"] = metadata
            return self._ok(table)
        return self._ok(
            {
                "apiVersion": rtype.api_version,
                "kind": f"{rtype.kind}List",
                "metadata": metadata,
                "items": items,
            }
        )

    @staticmethod
    def _require(rtype: ResourceType, verb: str) -> None:
        if verb not in rtype.verbs:
            raise errors.method_not_allowed(f"{verb} is not supported on {rtype.qualified_plural}")

    # --- watch: one JSON event per line on a chunked 200 response, like kube-apiserver --------

    def _watch_response(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str | None,
        params: Mapping[str, str],
        columns: list[dict[str, Any]] | None,
    ) -> rendering.Payload:
        self._require(rtype, "watch")
        selector = self._selector(rtype, params)
        predicate = (
            selector if name is None else (lambda obj: obj["metadata"]["name"] == name and selector(obj))
        )
        return rendering.Response(
            status=200,
            headers=_JSON,
            payload=self._watch_stream(rtype, namespace, predicate, params, columns),
        )

    async def _watch_stream(
        self,
        rtype: ResourceType,
        namespace: str | None,
        predicate: Callable[[Mapping[str, Any]], bool],
        params: Mapping[str, str],
        columns: list[dict[str, Any]] | None,
    ) -> AsyncIterator[rendering.Payload]:
        async for event in self._watches.stream(rtype, namespace, predicate, params):
            if (
                columns is not None
                and isinstance(event, dict)
                and event["type"] in ("ADDED", "MODIFIED", "DELETED")
            ):
                event = {"type": event["type"], "object": self._table(columns, [event["object"]], params)}
            yield event

    def close_watches(self) -> None:
        self._watches.close_all()

    @override
    async def _render_error(self, exc: Exception) -> aiohttp.web.StreamResponse:
        # Status bodies clients can parse: kmock's own 404s keep their code, anything else is a 500.
        if isinstance(exc, k8s.KubernetesError):
            status = errors.ApiError(
                exc.status, (exc.reason or "NotFound").replace(" ", ""), exc.message or ""
            )
        else:
            status = errors.ApiError(
                500, "InternalError", f"internal error in the in-memory API server: {exc!r}"
            )
        return aiohttp.web.json_response(status.as_status(), status=status.code)
