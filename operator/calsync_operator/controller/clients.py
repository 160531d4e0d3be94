"""Google clients built from the token Secrets a CalendarSync references, cached per version.

Secrets are read only in the CalendarSync's own namespace (a CR must not borrow another
namespace's Google account). A client is rebuilt only when its Secret changed — the token
Secrets' watch (``SecretWatch``) holds each labelled Secret's current version and keys, and only
a Secret it has not shown is read — so a pass costs no Kubernetes reads. When Google rotates a
refresh token the new token JSON is written back into the same Secret key and the cache adopts
the new version, so the write does not look like a user's change.

Problems come out as ``CredentialProblem`` whose message names the Secret and the command that
fixes it; secret values never appear anywhere.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from calsync_operator.api.conditions import AuthenticatedReason
from calsync_operator.api.spec import SecretRef
from calsync_operator.google.client import GoogleCalendarClient
from calsync_operator.google.credentials import ManagedCredentials, TokenJsonInvalid
from calsync_operator.google.endpoints import GoogleSettings
from calsync_operator.kube.client import KubeApi, KubeError, SecretData

logger = logging.getLogger(__name__)

# (namespace, Secret name) → the Secret as its watch last showed it (None: not watched (yet)).
SecretLookup = Callable[[str, str], SecretData | None]

TESTING_APP_NOTE = (
    'If the OAuth consent screen of your Google Cloud project is in "Testing", refresh tokens die '
    'after 7 days: publish the app ("In production") to keep them.'
)


def auth_command(secret: str, namespace: str) -> str:
    return f"calsync auth --client-secrets client.json --secret {secret} -n {namespace}"


class CredentialProblem(Exception):
    """A Secret that yields no working Google client; ``reason`` is an Authenticated reason."""

    def __init__(self, reason: str, secret: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.secret = secret


def auth_expired_problem(ref: SecretRef, namespace: str) -> CredentialProblem:
    return CredentialProblem(
        AuthenticatedReason.AUTH_EXPIRED,
        ref.name,
        f'Google refused the refresh token in Secret "{ref.name}" key "{ref.key}" (invalid_grant): '
        f"run `{auth_command(ref.name, namespace)}` to authorize again. {TESTING_APP_NOTE}",
    )


@dataclass
class _Entry:
    version: str
    digest: str
    client: GoogleCalendarClient


@dataclass
class ClientCache:
    """One CalendarSync's clients, keyed by (Secret name, key). Lives in kopf's per-object memo."""

    entries: dict[tuple[str, str], _Entry] = field(default_factory=dict)

    def outdated(self, secret: str, version: str) -> bool:
        """Whether a Secret at ``version`` differs from what the clients were built from
        (True for a Secret no working client came from yet: it may fix a SecretMissing)."""
        versions = [entry.version for (name, _key), entry in self.entries.items() if name == secret]
        return not versions or any(v != version for v in versions)

    def stale(self, ref: SecretRef, indexed_version: str | None) -> bool:
        """Whether the Secret changed since the client was built (per its watch)."""
        entry = self.entries.get((ref.name, ref.key))
        return entry is None or (indexed_version is not None and indexed_version != entry.version)

    async def client(
        self,
        kube: KubeApi,
        namespace: str,
        ref: SecretRef,
        google: GoogleSettings,
        *,
        indexed: SecretData | None,
        reread: bool,
    ) -> GoogleCalendarClient:
        """The client for ``ref``, built again when the Secret may have changed; a
        ``CredentialProblem`` when the Secret yields none or Google refused its token.

        ``indexed``: the Secret as its watch last showed it — current, so it is used as it is
        (no Kubernetes read). Otherwise (an unlabelled Secret) ``reread`` asks to read it again
        (the poll, a resume, a spec change).
        """
        entry = self.entries.get((ref.name, ref.key))
        indexed_version = indexed.resource_version if indexed is not None else None
        if entry is not None and (indexed or not reread) and not self.stale(ref, indexed_version):
            if entry.client.credentials.refused:
                raise auth_expired_problem(ref, namespace)
            return entry.client
        secret = indexed if indexed is not None else await kube.read_secret(namespace, ref.name)
        if secret is None:
            raise CredentialProblem(
                AuthenticatedReason.SECRET_MISSING,
                ref.name,
                f'Secret "{ref.name}" does not exist in namespace {namespace} (or the operator may not '
                f"read it): run `{auth_command(ref.name, namespace)}`",
            )
        token_json = secret.data.get(ref.key)
        if not token_json:
            raise CredentialProblem(
                AuthenticatedReason.SECRET_MISSING,
                ref.name,
                f'Secret "{ref.name}" has no key "{ref.key}": run `{auth_command(ref.name, namespace)}` '
                "(or fix credentials.secretRef.key)",
            )
        digest = hashlib.sha256(token_json.encode()).hexdigest()
        if entry is not None and entry.digest == digest and not entry.client.credentials.refused:
            entry.version = secret.resource_version
            return entry.client
        where = f'Secret "{ref.name}" key "{ref.key}" in namespace {namespace}'
        try:
            client = await asyncio.to_thread(_build_client, token_json, where, google)
        except TokenJsonInvalid:
            raise CredentialProblem(
                AuthenticatedReason.SECRET_MISSING,
                ref.name,
                f"{where} does not hold a Google token JSON: run `{auth_command(ref.name, namespace)}`",
            ) from None
        self.entries[(ref.name, ref.key)] = _Entry(secret.resource_version, digest, client)
        return client

    async def write_back_rotated(self, kube: KubeApi, namespace: str) -> None:
        """Store refresh tokens Google rotated during the pass in their Secrets."""
        for (name, key), entry in self.entries.items():
            rotated = entry.client.credentials.rotated_token_json()
            if rotated is None:
                continue
            try:
                version = await kube.write_secret_key(namespace, name, key, rotated)
            except KubeError as exc:
                # The old refresh token usually keeps working; the rotation is retried next pass.
                logger.warning(
                    "%s: the rotated refresh token stays in memory only (allow the operator "
                    "to patch Secrets: helm value rbac.secretWriteBack)",
                    exc,
                )
                continue
            entry.client.credentials.mark_written_back(rotated)
            entry.digest = hashlib.sha256(rotated.encode()).hexdigest()
            entry.version = version
            logger.info('Stored the rotated refresh token in Secret "%s" key "%s"', name, key)

    def clear(self) -> None:
        self.entries.clear()


def _build_client(token_json: str, where: str, google: GoogleSettings) -> GoogleCalendarClient:
    # The first client of the process builds the shared Calendar service: kept off the loop.
    return GoogleCalendarClient(
        ManagedCredentials(token_json, source=where, token_uri=google.token_uri), google
    )
