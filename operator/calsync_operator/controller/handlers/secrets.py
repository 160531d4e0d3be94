"""The Secrets index: which token Secret is at which version, and who must hear of a change.

Only Secrets labelled ``app.kubernetes.io/part-of=calsync`` are watched (``calsync auth`` sets
the label; the chart documents it), and only their resourceVersion is kept — never their data.
When one changes, the CalendarSyncs of that namespace that reference it are woken at once
(``SecretWatch``), so a user who re-ran ``calsync auth`` after an AuthExpired alert sees the
CalendarSync recover within seconds instead of at the next poll. No change handler runs on
Secrets: the index is the only thing kopf does with them.
"""

from __future__ import annotations

from typing import Any

import kopf

from calsync_operator.controller.memory import operator_context
from calsync_operator.controller.rules.pass_request import SecretVersion


async def secret_versions(
    *, namespace: str | None, name: str, meta: kopf.Meta, memo: kopf.Memo, **_: Any
) -> dict[tuple[str, str], str]:
    namespace = namespace or ""
    version = str(meta.get("resourceVersion", ""))
    operator_context(memo).secret_watch.changed(namespace, name, version)
    return {(namespace, name): version}


def index_lookup(index: kopf.Index[tuple[str, str], str] | None) -> SecretVersion:
    """A ``SecretVersion`` over the index: the version, or None for an unlabelled Secret."""

    def lookup(namespace: str, name: str) -> str | None:
        store = index.get((namespace, name)) if index is not None else None
        return next(iter(store), None) if store is not None else None

    return lookup
