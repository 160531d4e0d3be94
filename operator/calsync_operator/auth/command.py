"""``calsync auth``'s work: check the names and the cluster, sign in, write (or print) the Secret.

The Secret is what a CalendarSync's ``credentials.secretRef`` names: one key (``token.json``)
holding ``Credentials.to_json()``, labelled ``app.kubernetes.io/part-of: calsync`` so the
operator notices when it changes. The cluster is checked *before* the browser opens, so a
wrong kubeconfig costs no consent click. The token is printed only inside ``-o yaml``. The
command's options are in ``cli/auth.py``; the sign-in itself is ``flow``.
"""

from __future__ import annotations

import argparse
import base64
import re
import sys
from typing import TYPE_CHECKING, Any

from calsync_operator.api.names import PART_OF_LABEL, PART_OF_VALUE
from calsync_operator.errors import CliError

if TYPE_CHECKING:
    from kubernetes.client import CoreV1Api, V1Secret

    from calsync_operator.auth.flow import ShowUrl
    from calsync_operator.kube.connect import Cluster

# Kubernetes' own rules (DNS subdomain; Secret data keys), checked before anyone signs in.
_SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")


def token_secret(name: str, namespace: str, key: str, token_json: str) -> dict[str, Any]:
    """The Secret manifest holding one token (``data``, so every API server stores it as is)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": {PART_OF_LABEL: PART_OF_VALUE}},
        "type": "Opaque",
        "data": {key: base64.b64encode(token_json.encode()).decode()},
    }


def execute(args: argparse.Namespace, *, show_url: ShowUrl) -> int:
    """The command with the browser handed in (tests follow the URL with an HTTP client)."""
    import yaml

    from calsync_operator.auth import flow as oauth_flow

    if not _SECRET_NAME.match(args.secret):
        raise CliError(
            f"{args.secret!r} is not a valid Secret name",
            hint="use lower-case letters, digits, '-' and '.', e.g. personal-token",
        )
    if not _SECRET_KEY.match(args.key):
        raise CliError(
            f"{args.key!r} is not a valid Secret key", hint="use letters, digits, '-', '_' and '.'"
        )
    config = oauth_flow.load_client_config(args.client_secrets)

    if args.output == "yaml":
        token = _sign_in(args, config, show_url)
        manifest = token_secret(args.secret, args.namespace or "default", args.key, token)
        print("---\n" + yaml.safe_dump(manifest, sort_keys=False), end="", flush=True)
        return 0

    from calsync_operator.kube.connect import connect

    cluster = connect(
        args.kubeconfig,
        args.context,
        hint="set KUBECONFIG or pass --kubeconfig; or print the Secret with -o yaml and apply it later",
    )
    try:
        namespace = args.namespace or cluster.namespace
        existing = _read_secret(cluster, namespace, args.secret)  # also proves the cluster answers
        token = _sign_in(args, config, show_url)
        verb = _write_secret(cluster, token_secret(args.secret, namespace, args.key, token), existing)
    finally:
        cluster.close()
    print(f'Secret "{args.secret}" {verb} in namespace {namespace} (key {args.key}).', flush=True)
    print(f"Reference it from a CalendarSync: credentials.secretRef.name: {args.secret}", flush=True)
    return 0


def _sign_in(args: argparse.Namespace, config: dict[str, Any], show_url: ShowUrl) -> str:
    from calsync_operator.auth import flow as oauth_flow

    if args.no_browser:
        return oauth_flow.authorize_console(config, show_url=_print_only)
    return oauth_flow.authorize_local_server(config, show_url=show_url, port=args.port)


def _print_only(url: str) -> None:
    print(
        f"Open this address in a browser on any machine and allow calsync access:\n\n  {url}\n\n"
        "The browser then lands on a http://127.0.0.1/... page that does not load: that is expected.",
        file=sys.stderr,
        flush=True,
    )


def _read_secret(cluster: Cluster, namespace: str, name: str) -> V1Secret | None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    from calsync_operator.kube.connect import REQUEST_TIMEOUT

    core = client.CoreV1Api(cluster.api_client)
    with cluster.calling(f"read Secret {namespace}/{name}"):
        try:
            return core.read_namespaced_secret(name, namespace, _request_timeout=REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status != 404:
                raise
        if _namespace_missing(core, namespace):
            raise CliError(
                f"namespace {namespace!r} does not exist",
                hint=f"create it first: kubectl create namespace {namespace}",
            )
    return None


def _namespace_missing(core: CoreV1Api, namespace: str) -> bool:
    from kubernetes.client.exceptions import ApiException

    try:
        core.read_namespace(namespace, _request_timeout=10)
    except ApiException as exc:
        return bool(exc.status == 404)
    return False


def _write_secret(cluster: Cluster, manifest: dict[str, Any], existing: V1Secret | None) -> str:
    """Create the Secret, or merge our key and label into the existing one (other keys stay)."""
    from kubernetes import client

    from calsync_operator.kube.connect import REQUEST_TIMEOUT

    core = client.CoreV1Api(cluster.api_client)
    meta = manifest["metadata"]
    with cluster.calling(f"write Secret {meta['namespace']}/{meta['name']}"):
        if existing is None:
            body = client.V1Secret(
                metadata=client.V1ObjectMeta(
                    name=meta["name"], namespace=meta["namespace"], labels=meta["labels"]
                ),
                type=manifest["type"],
                data=manifest["data"],
            )
            core.create_namespaced_secret(meta["namespace"], body, _request_timeout=REQUEST_TIMEOUT)
            return "created"
        patch = {"metadata": {"labels": meta["labels"]}, "data": manifest["data"]}
        core.patch_namespaced_secret(meta["name"], meta["namespace"], patch, _request_timeout=REQUEST_TIMEOUT)
        return "updated"
