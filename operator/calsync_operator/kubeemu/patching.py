"""The three PATCH flavours of kube-apiserver, chosen by ``Content-Type``.

kopf sends JSON merge patches (RFC 7386) and JSON patches (RFC 6902) whose first op is
``test /metadata/resourceVersion``: a failed test must answer 422 so kopf retries on a fresh body,
not 500. kubectl sends strategic merge patches to built-ins; custom resources refuse them with
415, as a real server does. Pure functions on plain dicts: no I/O, no state.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import jsonpatch

MERGE = "application/merge-patch+json"
JSON = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"


class PatchError(Exception):
    """A patch that cannot apply: ``code`` is the HTTP status a real server answers with."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def apply_patch(
    obj: Mapping[str, Any], content_type: str, patch: Any, *, strategic_ok: bool
) -> dict[str, Any]:
    """Return a new object with ``patch`` applied; the input is never modified."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == MERGE:
        if not isinstance(patch, Mapping):
            raise PatchError(400, "a merge patch must be a JSON object")
        return merge_patch(obj, patch)
    if media == JSON:
        return json_patch(obj, patch)
    if media == STRATEGIC and strategic_ok:
        if not isinstance(patch, Mapping):
            raise PatchError(400, "a strategic merge patch must be a JSON object")
        return strategic_merge_patch(obj, patch)
    if media == STRATEGIC:
        raise PatchError(
            415,
            "strategic merge patch is not supported for custom resources: "
            "use a JSON merge patch (kubectl patch --type=merge)",
        )
    raise PatchError(415, f'the patch content type "{media}" is not supported here')


def merge_patch(target: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7386: objects merge recursively, ``null`` deletes, everything else replaces."""
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, Mapping):
            current = result.get(key)
            result[key] = merge_patch(current if isinstance(current, Mapping) else {}, value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def json_patch(target: Mapping[str, Any], ops: Any) -> dict[str, Any]:
    """RFC 6902 via the ``jsonpatch`` library; a failed ``test`` op is a 422, like kube-apiserver."""
    if not isinstance(ops, list) or not all(isinstance(op, Mapping) for op in ops):
        raise PatchError(400, "a JSON patch must be a JSON array of operation objects")
    try:
        result = jsonpatch.JsonPatch(ops).apply(copy.deepcopy(dict(target)), in_place=True)
    except jsonpatch.JsonPatchTestFailed as exc:
        raise PatchError(
            422, f"the server rejected our request due to an error in our request: {exc}"
        ) from exc
    except (jsonpatch.JsonPatchConflict, jsonpatch.JsonPointerException) as exc:
        raise PatchError(
            422, f"the server rejected our request due to an error in our request: {exc}"
        ) from exc
    except jsonpatch.InvalidJsonPatch as exc:
        raise PatchError(400, f"invalid JSON patch: {exc}") from exc
    if not isinstance(result, dict):
        raise PatchError(422, "a JSON patch must leave an object at the document root")
    return result


# Strategic merge for the built-ins we serve: the only lists with a merge strategy among the
# fields of Secrets, ConfigMaps, Namespaces, Events and Leases live in ObjectMeta.
_MERGE_KEYS: dict[str, str | None] = {"finalizers": None, "ownerReferences": "uid"}


def strategic_merge_patch(target: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """A strategic merge patch, limited to the list merge strategies of ``metadata``.

    ``metadata.finalizers`` merges as a set (with ``$deleteFromPrimitiveList/finalizers``) and
    ``metadata.ownerReferences`` merges by ``uid``; every other field follows merge-patch rules,
    which is what the strategy prescribes for maps and atomic lists.
    """
    result = merge_patch(target, {key: value for key, value in patch.items() if key != "metadata"})
    if "metadata" not in patch:
        return result
    meta_patch = dict(patch["metadata"] or {})
    meta = dict(result.get("metadata") or {})
    deletions = meta_patch.pop("$deleteFromPrimitiveList/finalizers", None) or []
    for field, merge_key in _MERGE_KEYS.items():
        if field not in meta_patch or meta_patch[field] is None:
            continue
        current = list(meta.get(field) or [])
        for item in meta_patch.pop(field):
            if merge_key is None:
                if item not in current:
                    current.append(item)
            else:
                current = [old for old in current if old.get(merge_key) != item.get(merge_key)] + [item]
        meta[field] = current
    if deletions:
        meta["finalizers"] = [item for item in meta.get("finalizers") or [] if item not in deletions]
    result["metadata"] = merge_patch(meta, meta_patch)
    return result
