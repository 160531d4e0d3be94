"""Token Secrets as the watch sees them: each one's version and decoded keys, and who must hear
of a change.

Only Secrets labelled ``app.kubernetes.io/part-of=calsync`` are watched (``calsync auth`` sets
the label; the chart documents it). Every watch event of one lands in the operator's
``SecretWatch``: its resourceVersion and decoded keys are kept in memory (``SecretData``, whose
repr never shows a value), so building a Google client needs no Kubernetes read — 1,000
CalendarSyncs starting would otherwise GET 3,000 Secrets the watch has just listed. A Secret the
watch has not shown yet (the first passes after a restart may run before the listing arrived)
or an unlabelled one is read with a GET when a pass needs it.

When a Secret changes, the CalendarSyncs of that namespace that reference it are woken at once,
so a user who re-ran ``calsync auth`` after an AuthExpired alert sees the CalendarSync recover
within seconds instead of at the next poll.

This is an event handler, not a ``kopf.index``: kopf holds every handler of other resources
until all indexed objects are indexed, and each object's readiness toggle wakes every waiting
CalendarSync worker — quadratic (Secrets times CalendarSyncs) when an operator restarts with
3,000 Secrets and 1,000 CalendarSyncs (minutes of CPU). Nothing needs that wait.
"""

from __future__ import annotations

from typing import Any

import kopf

from calsync_operator.controller.memory import operator_context
from calsync_operator.kube.client import SecretData, decode_secret_data


async def token_secret_event(
    *, type: str | None, namespace: str | None, name: str, body: kopf.Body, memo: kopf.Memo, **_: Any
) -> None:
    watch = operator_context(memo).secret_watch
    namespace = namespace or ""
    if type == "DELETED":
        watch.forget(namespace, name)
        return
    version = str(body.meta.get("resourceVersion", ""))
    watch.changed(SecretData(namespace, name, version, decode_secret_data(body.get("data"))))
