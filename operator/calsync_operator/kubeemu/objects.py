"""Write strategies: how kube-apiserver turns a request body into the stored object.

These are the rules clients silently rely on: the server owns ``uid``, ``creationTimestamp``,
``resourceVersion``, ``generation`` and the deletion fields; ``generation`` counts spec changes
only (kopf and ``status.observedGeneration`` depend on that); with a status subresource, the main
resource ignores ``status`` and ``/status`` ignores everything else; no finalizer may be added to
an object that is being deleted. Pure functions on plain dicts; the store supplies time and ids.
"""

from __future__ import annotations

import copy
import datetime
import re
from collections.abc import Mapping
from typing import Any

from calsync_operator.kubeemu import errors
from calsync_operator.kubeemu.resources import ResourceType
from calsync_operator.kubeemu.schema import prune_and_default, unknown_fields
from calsync_operator.kubeemu.validation import validate

# Fields of ObjectMeta that only the server writes; clients' values are ignored on update.
_SERVER_OWNED = ("uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def rfc3339(moment: datetime.datetime) -> str:
    """Kubernetes timestamps: UTC, whole seconds, ``Z`` suffix."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _body_without_meta(obj: Mapping[str, Any], *, with_status: bool) -> dict[str, Any]:
    skipped = {"metadata", "apiVersion", "kind"} | (set() if with_status else {"status"})
    return {key: value for key, value in obj.items() if key not in skipped}


def _check_type(rtype: ResourceType, body: Mapping[str, Any]) -> None:
    kind = body.get("kind")
    api_version = body.get("apiVersion")
    if kind is not None and kind != rtype.kind:
        raise errors.bad_request(f"the kind of the provided object ({kind}) does not match {rtype.kind}")
    if api_version is not None and api_version != rtype.api_version:
        raise errors.bad_request(
            f"the API version in the data ({api_version}) does not match the expected API version "
            f"({rtype.api_version})"
        )


def prepare_create(
    rtype: ResourceType,
    body: Mapping[str, Any],
    *,
    namespace: str | None,
    now: datetime.datetime,
    uid: str,
    name_suffix: str,
    strict: bool = False,
) -> dict[str, Any]:
    """The object as stored on create (without ``resourceVersion``, which the store assigns)."""
    if not isinstance(body, Mapping):
        raise errors.bad_request("the body of the request must be a JSON object")
    _check_type(rtype, body)
    obj = copy.deepcopy(dict(body))
    meta = dict(obj.get("metadata") or {})
    if meta.get("resourceVersion"):
        raise errors.bad_request("resourceVersion should not be set on objects to be created")
    body_namespace = meta.get("namespace")
    if rtype.namespaced:
        if body_namespace and namespace and body_namespace != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        meta["namespace"] = namespace or body_namespace
    else:
        meta.pop("namespace", None)
    name = meta.get("name")
    if not name and meta.get("generateName"):
        name = meta["generateName"] + name_suffix
    if not name:
        raise errors.invalid(rtype, "", "metadata.name", "Required value: name or generateName is required")
    if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        raise errors.invalid(
            rtype,
            name,
            "metadata.name",
            f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case '
            "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        )
    meta["name"] = name
    for field in _SERVER_OWNED:
        meta.pop(field, None)
    meta["uid"] = uid
    meta["creationTimestamp"] = rfc3339(now)
    if rtype.tracks_generation:
        meta["generation"] = 1
    obj["apiVersion"] = rtype.api_version
    obj["kind"] = rtype.kind
    obj["metadata"] = meta
    if rtype.has_status_subresource:
        obj.pop("status", None)  # create cannot set status when /status is a subresource
    return _shape(rtype, obj, strict=strict)


def _shape(rtype: ResourceType, obj: dict[str, Any], *, strict: bool = False) -> dict[str, Any]:
    """Prune, default, then validate against the CRD schema: what a custom resource stores.

    ``strict`` is ``?fieldValidation=Strict`` (what kubectl sends): unknown fields are an error
    (400) instead of being dropped silently.
    """
    if not rtype.custom:
        return obj
    unknown = unknown_fields(obj, rtype.schema) if strict else []
    if unknown:
        fields = ", ".join(f'unknown field "{path}"' for path in unknown)
        raise errors.bad_request(
            f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: '
            f"strict decoding error: {fields}"
        )
    shaped = prune_and_default(obj, rtype.schema)
    problems = validate(shaped, rtype.schema)
    if problems:
        raise errors.invalid_fields(rtype, shaped["metadata"]["name"], problems)
    return shaped


def prepare_update(
    rtype: ResourceType,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    subresource: str | None,
    strict: bool = False,
) -> dict[str, Any]:
    """The object as stored after an update of the main resource or of ``/status``.

    The caller has already checked ``metadata.resourceVersion`` preconditions.
    """
    if not isinstance(new, Mapping):
        raise errors.bad_request("the body of the request must be a JSON object")
    _check_type(rtype, new)
    old_meta = old.get("metadata") or {}
    name = old_meta.get("name", "")
    if subresource == "status":
        result = copy.deepcopy(dict(old))
        if "status" in new:
            result["status"] = copy.deepcopy(new["status"])
        else:
            result.pop("status", None)
    elif subresource is None:
        result = copy.deepcopy(dict(new))
        if rtype.has_status_subresource:
            if "status" in old:
                result["status"] = copy.deepcopy(old["status"])
            else:
                result.pop("status", None)
    else:
        raise errors.method_not_allowed(f"the subresource {subresource!r} is not served for {rtype}")

    meta = dict(result.get("metadata") or {})
    if meta.get("name", name) != name:
        raise errors.bad_request(
            f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
        )
    if rtype.namespaced and meta.get("namespace", old_meta.get("namespace")) != old_meta.get("namespace"):
        raise errors.bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    meta["name"] = name
    if rtype.namespaced:
        meta["namespace"] = old_meta.get("namespace")
    for field in (*_SERVER_OWNED, "resourceVersion"):
        if field in old_meta:
            meta[field] = old_meta[field]
        else:
            meta.pop(field, None)
    if old_meta.get("deletionTimestamp"):
        added = [
            item for item in meta.get("finalizers") or [] if item not in (old_meta.get("finalizers") or [])
        ]
        if added:
            raise errors.invalid(
                rtype,
                name,
                "metadata.finalizers",
                "Forbidden: no new finalizers can be added if the object is being deleted, "
                f"found new finalizers {added}",
            )
    if not meta.get("finalizers"):
        meta.pop("finalizers", None)
    result["apiVersion"] = rtype.api_version
    result["kind"] = rtype.kind
    result["metadata"] = meta
    result = _shape(rtype, result, strict=strict)
    if rtype.tracks_generation:
        with_status = not rtype.has_status_subresource
        if _body_without_meta(result, with_status=with_status) != _body_without_meta(
            old, with_status=with_status
        ):
            result["metadata"]["generation"] = int(old_meta.get("generation") or 0) + 1
    return result


def check_delete_preconditions(
    rtype: ResourceType, old: Mapping[str, Any], preconditions: Mapping[str, Any]
) -> None:
    """DeleteOptions.preconditions: refuse (409) when the uid or resourceVersion moved on."""
    meta = old["metadata"]
    if preconditions.get("uid") and preconditions["uid"] != meta.get("uid"):
        raise errors.conflict(
            rtype,
            meta["name"],
            f"Precondition failed: UID in precondition: {preconditions['uid']}, "
            f"UID in object meta: {meta.get('uid')}",
        )
    wanted = preconditions.get("resourceVersion")
    if wanted and wanted != meta.get("resourceVersion"):
        raise errors.conflict(
            rtype,
            meta["name"],
            "the object has been modified; please apply your changes to the latest version and try again",
        )


def mark_deleting(rtype: ResourceType, old: Mapping[str, Any], now: datetime.datetime) -> dict[str, Any]:
    """A graceful delete of an object with finalizers: it stays, marked, until they are gone."""
    result = copy.deepcopy(dict(old))
    meta = result.setdefault("metadata", {})
    if rtype.tracks_generation:
        meta["generation"] = int(meta.get("generation") or 0) + 1
    meta["deletionTimestamp"] = rfc3339(now)
    meta["deletionGracePeriodSeconds"] = 0
    return result


def is_releasable(obj: Mapping[str, Any]) -> bool:
    """Marked for deletion and no finalizer left: the server removes it now."""
    meta = obj.get("metadata") or {}
    return bool(meta.get("deletionTimestamp")) and not meta.get("finalizers")
