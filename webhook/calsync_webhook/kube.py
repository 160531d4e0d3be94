"""How the webhook reaches the Kubernetes API: the client (the CalendarSync coordinates are
``calsync_operator.api.names``'s).

The webhook needs only get/list/watch/patch on ``calendarsyncs`` (DESIGN §6), all through the
official ``kubernetes`` client, whose calls block; the watcher runs them in a thread and the
patcher in an executor, so the event loop serving ``/push`` never waits on the API server.
"""

from __future__ import annotations

from kubernetes import client, config


def load_api_client(kubeconfig: str | None = None) -> client.ApiClient:
    """In-cluster config when running in a Pod, else ``kubeconfig`` (or the current context of
    ``$KUBECONFIG`` / ``~/.kube/config``)."""
    if kubeconfig is None:
        try:
            config.load_incluster_config()  # type: ignore[no-untyped-call]
            return client.ApiClient()
        except config.ConfigException:
            pass
    configuration = client.Configuration()
    config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=kubeconfig, client_configuration=configuration
    )
    return client.ApiClient(configuration)
