"""Reading an HTTP request the way kube-apiserver does, into kmock's ``Request``.

kmock 0.8 parses URLs with its own rules, which cannot address the Namespace resource itself (see
``paths``), and decodes bodies by guessing. Here the URL goes through ``parse_api_path`` and the
body is JSON or nothing: the handlers answer 415 when a body they need is in another format.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import aiohttp.web

from calsync_operator.kubeemu.internals import enums, references, rendering
from calsync_operator.kubeemu.paths import ApiPath, parse_api_path


def guess_action(api: ApiPath, method: str, params: Mapping[str, str]) -> enums.action | None:
    if method == "GET" and params.get("watch") in ("true", "1"):
        return enums.action.WATCH
    if api.name is None:
        return {"GET": enums.action.LIST, "POST": enums.action.CREATE}.get(method)
    return {
        "GET": enums.action.FETCH,
        "PATCH": enums.action.UPDATE,
        "PUT": enums.action.UPDATE,
        "DELETE": enums.action.DELETE,
    }.get(method)


async def parse_request(raw_request: aiohttp.web.BaseRequest, *, id: int) -> rendering.Request:
    """kmock's ``Request._parse`` with kube-apiserver's URL rules (see ``paths``)."""
    body = await raw_request.read()
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None  # not JSON (protobuf, YAML): the handlers answer 415 where a body is needed
    api = parse_api_path(raw_request.path)
    params = dict(raw_request.query)
    resource = (
        None if api is None else references.resource(group=api.group, version=api.version, plural=api.plural)
    )
    return rendering.Request(
        id=id,
        raw_request=raw_request,
        url=raw_request.url,
        method=raw_request.method,
        params=params,
        headers=dict(raw_request.headers),
        cookies=dict(raw_request.cookies),
        data=data,
        body=body,
        text=body.decode("utf-8", "replace"),
        action=None if api is None else guess_action(api, raw_request.method, params),
        resource=resource,
        namespace=None if api is None else api.namespace,
        name=None if api is None else api.name,
        subresource=None if api is None else api.subresource,
    )


def header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None
