"""calsync: keep Google calendars in sync from inside Kubernetes.

The package is layered like kopf: a pure core (``model``, ``identity``, ``conditions``,
``render``, ``planner``) works on plain data without I/O; adapters at the edges (``google``,
``kube``, ``mail``) do all the talking; ``handlers`` wire the two together for kopf.
"""

from __future__ import annotations

__version__ = "0.1.0"
