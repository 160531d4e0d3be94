"""What a trigger hands to a sync pass: which object, which sources, and why.

Plain data shared by the kopf handlers (which build it), ``triggers`` (which decides it) and the
pass modules (which act on it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only names the body's type: the pure core (triggers) must not load kopf
    import kopf


@dataclass(frozen=True)
class PassRequest:
    """What a trigger asks for. ``sources`` None means every source."""

    reason: str
    sources: frozenset[str] | None = None
    pushes: Mapping[str, str] = field(default_factory=dict)  # source key → push annotation value
    requested_at: str | None = None  # the requested-at annotation value this pass answers
    force_full: bool = False  # re-list the window (the spec changed: new rendering everywhere)
    confirm_delete: bool = False
    reread_secrets: bool = False


@dataclass(frozen=True)
class ObjectRef:
    """The CalendarSync a pass works on, as a kopf handler saw it."""

    namespace: str
    name: str
    generation: int | None
    body: kopf.Body  # for posting Events
    status: Mapping[str, Any]

    @classmethod
    def of(cls, body: kopf.Body, name: str, namespace: str | None) -> ObjectRef:
        generation = body.meta.get("generation")
        return cls(
            namespace=namespace or "",  # CalendarSyncs are namespaced: never empty in practice
            name=name,
            generation=int(generation) if generation is not None else None,
            body=body,
            status=dict(body.status),
        )
