"""``calsync auth``: sign in to Google once and keep the token in a Kubernetes Secret.

It replaces the old bot's token script, which had people edit paths inside the script. The
Secret is what a CalendarSync's ``credentials.secretRef`` names: one key (``token.json``)
holding ``Credentials.to_json()``, labelled ``app.kubernetes.io/part-of: calsync`` so the
operator notices when it changes. The cluster is checked *before* the browser opens, so a
wrong kubeconfig costs no consent click. The token is printed only inside ``-o yaml``.
"""

from __future__ import annotations

import argparse
import base64
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from calsync_operator.errors import CliError
from calsync_operator.kube.connect import add_cluster_arguments

if TYPE_CHECKING:
    from kubernetes.client import CoreV1Api, V1Secret

    from calsync_operator.auth.flow import ShowUrl
    from calsync_operator.kube.connect import Cluster

PART_OF_LABEL = "app.kubernetes.io/part-of"
PART_OF_VALUE = "calsync"
# Kubernetes' own rules (DNS subdomain; Secret data keys), checked before anyone signs in.
_SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")
_NAME_HELP = "the Secret your CalendarSync names in credentials.secretRef.name, e.g. personal-token"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "auth",
        help="sign in to Google and store the token in a Kubernetes Secret",
        description=(
            "Run Google's sign-in for a Desktop-app OAuth client (scope: Google Calendar) and write "
            "the token JSON into a Secret in the current kubeconfig's cluster, creating or updating "
            "it; or print the Secret manifest with -o yaml. Run it once per Google account."
        ),
        epilog=("example: calsync auth --client-secrets client.json --secret personal-token -n calsync"),
    )
    parser.add_argument(
        "--client-secrets",
        required=True,
        type=Path,
        metavar="FILE",
        help="the OAuth client JSON downloaded from Google Cloud Console (docs/google-cloud.md)",
    )
    parser.add_argument("--secret", required=True, metavar="NAME", help=_NAME_HELP)
    parser.add_argument(
        "-n",
        "--namespace",
        metavar="NS",
        help="namespace of the Secret (default: the kubeconfig context's, else default)",
    )
    parser.add_argument("--key", default="token.json", help="key inside the Secret (default: token.json)")
    parser.add_argument(
        "-o",
        "--output",
        choices=["yaml"],
        help="print the Secret manifest (with the token) instead of writing it to the cluster",
    )
    parser.add_argument(
        "--no-browser",
        action="store_true",
        help="do not start a local server: print the sign-in URL and paste back where the browser "
        "ended (for SSH sessions)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        metavar="PORT",
        help="local port for Google's redirect (default: any free port)",
    )
    add_cluster_arguments(parser)
    parser.set_defaults(func=run)


def token_secret(name: str, namespace: str, key: str, token_json: str) -> dict[str, Any]:
    """The Secret manifest holding one token (``data``, so every API server stores it as is)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": {PART_OF_LABEL: PART_OF_VALUE}},
        "type": "Opaque",
        "data": {key: base64.b64encode(token_json.encode()).decode()},
    }


def run(args: argparse.Namespace) -> int:
    from calsync_operator.auth import flow as oauth_flow

    return execute(args, show_url=oauth_flow.default_show_url)


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
