"""The Secrets index: each token Secret's version and decoded keys, and who must hear of a change.

Only Secrets labelled ``app.kubernetes.io/part-of=calsync`` are watched (``calsync auth`` sets
the label; the chart documents it). The index keeps their resourceVersion and decoded keys in
memory (``SecretData``, whose repr never shows a value), so building a Google client needs no
Kubernetes read: 1,000 CalendarSyncs starting would otherwise GET 3,000 Secrets that kopf has
just listed. kopf fills every index before any CalendarSync handler runs, so a labelled Secret
that is missing from the index does not exist. When one changes, the CalendarSyncs of that
namespace that reference it are woken at once (``SecretWatch``), so a user who re-ran
``calsync auth`` after an AuthExpired alert sees the CalendarSync recover within seconds
instead of at the next poll. No change handler runs on Secrets: the index is the only thing
kopf does with them. Unlabelled Secrets are read with a GET when a pass needs them.
"""

from __future__ import annotations

from typing import Any

import kopf

from calsync_operator.controller.clients import SecretLookup
from calsync_operator.controller.memory import operator_context
from calsync_operator.kube.client import SecretData, decode_secret_data


async def token_secrets(
    *, namespace: str | None, name: str, body: kopf.Body, memo: kopf.Memo, **_: Any
) -> dict[tuple[str, str], SecretData]:
    namespace = namespace or ""
    version = str(body.meta.get("resourceVersion", ""))
    operator_context(memo).secret_watch.changed(namespace, name, version)
    return {(namespace, name): SecretData(namespace, name, version, decode_secret_data(body.get("data")))}


def index_lookup(index: kopf.Index[tuple[str, str], SecretData] | None) -> SecretLookup:
    """A ``SecretLookup`` over the index: the Secret, or None for an unlabelled one."""

    def lookup(namespace: str, name: str) -> SecretData | None:
        store = index.get((namespace, name)) if index is not None else None
        return next(iter(store), None) if store is not None else None

    return lookup
