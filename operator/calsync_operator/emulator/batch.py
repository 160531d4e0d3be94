"""Google's batch wire format (multipart/mixed of ``application/http`` parts), both ways.

google-api-python-client's ``BatchHttpRequest`` sends one part per call with a
``Content-ID: <base + n>`` and expects the answer for it under ``Content-ID: <response-base + n>``,
each part being a raw HTTP response whose headers end with CRLF CRLF. Parsing uses the
standard library's MIME parser, as the client does.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import compat32
from http import HTTPStatus
from urllib.parse import urlsplit

MAX_BATCH_PARTS = 1000


class BatchFormatError(ValueError):
    """The request body is not a multipart/mixed batch the emulator can read."""


@dataclass(frozen=True)
class BatchPart:
    content_id: str
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class PartResponse:
    content_id: str
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def parse_batch(content_type: str, body: bytes) -> list[BatchPart]:
    if not content_type.lower().startswith("multipart/mixed"):
        raise BatchFormatError("Batch requests must be multipart/mixed.")
    message = BytesParser(policy=compat32).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise BatchFormatError("Batch body has no parts (check the boundary).")
    parts = []
    for index, part in enumerate(message.get_payload()):
        raw = part.get_payload(decode=False)
        raw_bytes = raw.encode() if isinstance(raw, str) else bytes(raw)
        parts.append(_parse_part(str(part.get("Content-ID", f"<{index}>")), raw_bytes))
    return parts


def _parse_part(content_id: str, raw: bytes) -> BatchPart:
    request_line, _, rest = raw.lstrip(b"\r\n").partition(b"\n")
    pieces = request_line.decode().strip().split(" ")
    if len(pieces) < 2:
        raise BatchFormatError(f"Part {content_id} does not start with an HTTP request line.")
    inner = BytesParser(policy=compat32).parsebytes(rest)
    url = urlsplit(pieces[1])
    payload = inner.get_payload(decode=False)
    body = payload.encode() if isinstance(payload, str) else b""
    headers = [(k, str(v)) for k, v in inner.items()]
    return BatchPart(content_id, pieces[0].upper(), url.path, url.query, headers, body.strip(b"\r\n"))


def response_content_id(request_content_id: str) -> str:
    inner = request_content_id.strip()
    if inner.startswith("<") and inner.endswith(">"):
        inner = inner[1:-1]
    return f"<response-{inner}>"


def render_batch(responses: list[PartResponse]) -> tuple[str, bytes]:
    """The multipart/mixed response: (Content-Type header value, body)."""
    boundary = "batch_" + secrets.token_hex(12)
    chunks: list[bytes] = []
    for response in responses:
        try:
            phrase = HTTPStatus(response.status).phrase
        except ValueError:
            phrase = "Unknown"
        head = [f"HTTP/1.1 {response.status} {phrase}"]
        head += [f"{k}: {v}" for k, v in response.headers if k.lower() not in ("content-length",)]
        head.append(f"Content-Length: {len(response.body)}")
        chunks.append(
            (
                f"--{boundary}\r\nContent-Type: application/http\r\n"
                f"Content-ID: {response_content_id(response.content_id)}\r\n\r\n"
                + "\r\n".join(head)
                + "\r\n\r\n"
            ).encode()
            + response.body
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return f"multipart/mixed; boundary={boundary}", b"".join(chunks)
