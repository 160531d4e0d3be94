"""``limit``/``continue`` lists served from one snapshot, as kube-apiserver's continue tokens are.

Every page of a paginated list must show the state at the first page's resourceVersion, or a
client that lists in chunks and then watches from that version could miss or double-count
objects. The first page keeps the full, already sorted result; later pages slice it. Tokens are
opaque to clients; a token whose snapshot was evicted answers 410 Expired, as a compacted one does.
"""

from __future__ import annotations

import base64
import collections
import json
import uuid
from typing import Any

from calsync_operator.kubeemu import errors

Page = tuple[list[dict[str, Any]], int, str | None, int]  # items, revision, continue token, remaining


class Snapshots:
    def __init__(self, capacity: int = 64) -> None:
        self._capacity = capacity
        self._kept: collections.OrderedDict[str, tuple[list[dict[str, Any]], int]] = collections.OrderedDict()

    def first_page(self, items: list[dict[str, Any]], revision: int, limit: int | None) -> Page:
        return self._page(uuid.uuid4().hex, items, revision, 0, limit)

    def next_page(self, token: str, limit: int | None) -> Page:
        try:
            state = json.loads(base64.urlsafe_b64decode(token.encode()))
            snapshot_id, offset = str(state["s"]), int(state["o"])
        except (ValueError, KeyError, TypeError) as exc:
            raise errors.bad_request(f"invalid continue token: {exc}") from exc
        kept = self._kept.get(snapshot_id)
        if kept is None:
            raise errors.expired(
                "The provided continue parameter is too old to display a consistent list result."
            )
        return self._page(snapshot_id, kept[0], kept[1], offset, limit)

    def _page(
        self, snapshot_id: str, items: list[dict[str, Any]], revision: int, offset: int, limit: int | None
    ) -> Page:
        if not limit or offset + limit >= len(items):
            self._kept.pop(snapshot_id, None)
            return items[offset:], revision, None, 0
        self._kept[snapshot_id] = (items, revision)
        while len(self._kept) > self._capacity:
            self._kept.popitem(last=False)
        token = base64.urlsafe_b64encode(
            json.dumps({"s": snapshot_id, "o": offset + limit}).encode()
        ).decode()
        return items[offset : offset + limit], revision, token, len(items) - offset - limit
