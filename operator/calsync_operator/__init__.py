"""calsync: keep Google calendars in sync from inside Kubernetes.

The folder tree is the architecture (docs/architecture.md), layered like kopf: ``cli`` on top;
``controller`` (the operator), ``check`` and ``auth`` below it, beside the webhook
(``calsync_webhook``); then the adapters ``kube`` and ``google``; then ``sync`` (one source into
one target, pure apart from its port); ``api`` (the CalendarSync contract) at the bottom. Each
package imports only the ones below it. ``settings``, ``logs``, ``metrics``, ``mail``,
``heartbeat``, ``process`` and ``errors`` are flat helpers; ``emulator`` (the Google Calendar emulator),
``kubeemu`` (the in-memory Kubernetes API) and ``demo`` are tools for tests and people.
"""

from __future__ import annotations

__version__ = "0.1.0"
