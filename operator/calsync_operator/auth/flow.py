"""Google's installed-app OAuth flow for ``calsync auth``, on google-auth-oauthlib.

Two ways to hand the consent back, both Google's loopback redirect (the out-of-band
``urn:ietf:wg:oauth:2.0:oob`` flow is gone since 2022):

- local server (default): ``InstalledAppFlow.run_local_server`` listens on 127.0.0.1 and
  Google's consent page redirects the browser there;
- console (``--no-browser``, e.g. over SSH): the URL is printed, the person opens it on any
  machine, and pastes back the address the browser ended on (``http://127.0.0.1/?code=...``,
  a page that fails to load, which is expected) or only its ``code``.

How the URL reaches a person is a callable (``show_url``): the CLI prints it and tries to open
a browser; a test follows it with an HTTP client. Whatever is said to the person (the URL, the
prompt) goes to stderr, so stdout carries only the result: ``calsync auth ... -o yaml >
secret.yaml`` (or ``| kubectl apply -f -``) still shows the URL and writes a clean manifest.
Failures become ``CliError`` with the fix.
"""

from __future__ import annotations

import json
import os
import sys
import webbrowser
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from calsync_operator.errors import CliError

SCOPES = ["https://www.googleapis.com/auth/calendar"]
# Google recommends the loopback IP over "localhost" (no name resolution, no IPv6 ambiguity).
CONSOLE_REDIRECT_URI = "http://127.0.0.1/"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_CLIENT_FILE_HINT = (
    "download it from Google Cloud Console > APIs & Services > Credentials > your OAuth client "
    "(type Desktop app) > Download JSON; see docs/google-cloud.md"
)

ShowUrl = Callable[[str], None]
ReadLine = Callable[[str], str]


def load_client_config(path: Path) -> dict[str, Any]:
    """The client-secrets JSON, checked the way Google's library would, with a useful message."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"client secrets file {str(path)!r} does not exist", hint=_CLIENT_FILE_HINT) from None
    except OSError as exc:
        raise CliError(f"cannot read client secrets file {str(path)!r}: {exc.strerror}") from None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"client secrets file {str(path)!r} is not JSON ({exc.msg}, line {exc.lineno})",
            hint=_CLIENT_FILE_HINT,
        ) from None
    section = config.get("installed") or config.get("web") if isinstance(config, dict) else None
    if not isinstance(section, dict):
        raise CliError(
            f'client secrets file {str(path)!r} has no "installed" (or "web") client',
            hint=_CLIENT_FILE_HINT,
        )
    missing = [key for key in ("client_id", "client_secret", "auth_uri", "token_uri") if not section.get(key)]
    if missing:
        raise CliError(
            f"client secrets file {str(path)!r} lacks {', '.join(missing)}", hint=_CLIENT_FILE_HINT
        )
    return dict(config)


def _client_section(config: Mapping[str, Any]) -> Mapping[str, Any]:
    section = config.get("installed") or config.get("web")
    assert isinstance(section, Mapping)
    return section


def _allow_plain_http_on_loopback(config: Mapping[str, Any]) -> None:
    # oauthlib refuses http:// token endpoints. Google's are https; the shipped emulator (demo,
    # tests, people trying calsync out) listens on loopback, where nothing crosses a network.
    host = urlsplit(str(_client_section(config)["token_uri"])).hostname or ""
    if host in _LOOPBACK_HOSTS:
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"


def default_show_url(url: str) -> None:
    """Print the consent URL once, and open a browser on it when this machine has one."""
    print(
        f"Open this address in a browser and allow calsync to manage your calendars:\n\n  {url}\n",
        file=sys.stderr,
        flush=True,
    )
    browser = system_browser()
    if browser is None or not browser.open(url, new=1):
        print(
            "No browser could be opened here; calsync waits for Google's redirect to 127.0.0.1. "
            "From another machine, forward the port (ssh -L) or run again with --no-browser.",
            file=sys.stderr,
            flush=True,
        )


def system_browser() -> webbrowser.BaseBrowser | None:
    """The browser ``webbrowser`` would start, or None on a machine without a graphical one:
    no ``BROWSER`` and no display (a server, an SSH session). Terminal browsers that
    ``webbrowser`` would find there (lynx, w3m) cannot show Google's consent page."""
    graphical = sys.platform in ("darwin", "win32") or any(
        os.environ.get(name) for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY")
    )
    if not graphical:
        return None
    try:
        return webbrowser.get()
    except webbrowser.Error:
        return None


def read_answer(prompt: str) -> str:
    """``input()`` with the prompt on stderr (``input`` writes it to stdout, into the manifest)."""
    print(prompt, end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    if not sys.stdin.isatty():
        print(file=sys.stderr, flush=True)  # a terminal echoed the Enter; a pipe did not
    if not line:
        raise EOFError
    return line


def _showing_flow(show_url: ShowUrl) -> type[Any]:
    """``InstalledAppFlow`` that hands the consent URL to ``show_url`` when it builds it.
    ``run_local_server`` otherwise opens it through the ``webbrowser`` registry (where a
    stand-in browser would be found again by ``webbrowser.open``: endless recursion on a
    machine without a browser) and prints it to stdout."""
    from google_auth_oauthlib.flow import InstalledAppFlow

    class ShowingFlow(InstalledAppFlow):  # type: ignore[misc]
        def authorization_url(self, **kwargs: Any) -> tuple[str, str]:
            url, state = super().authorization_url(**kwargs)
            show_url(url)
            return str(url), str(state)

    return ShowingFlow


def authorize_local_server(
    config: Mapping[str, Any], *, show_url: ShowUrl = default_show_url, port: int = 0, timeout: float = 300
) -> str:
    """Run the local-server flow; the ``Credentials.to_json()`` text of the new token. The URL
    goes to ``show_url`` once; the flow then waits for Google's redirect to 127.0.0.1."""
    _allow_plain_http_on_loopback(config)
    flow = _showing_flow(show_url).from_client_config(dict(config), scopes=SCOPES)
    try:
        credentials = flow.run_local_server(
            host="127.0.0.1",
            port=port,
            open_browser=False,  # show_url opens one, if there is one
            authorization_prompt_message="",
            success_message="calsync has its token. You may close this window.",
            timeout_seconds=int(timeout),
            prompt="consent",  # Google returns a refresh token only with fresh consent
        )
    except OSError as exc:
        raise CliError(
            f"cannot listen on 127.0.0.1:{port} for Google's redirect: {exc.strerror or exc}",
            hint="choose another --port (0 picks a free one), or use --no-browser",
        ) from None
    except Exception as exc:
        raise _flow_error(exc) from None
    return str(credentials.to_json())


def authorize_console(
    config: Mapping[str, Any], *, show_url: ShowUrl, read_line: ReadLine = read_answer
) -> str:
    """Run the flow without a local server: print the URL, read back the redirect or the code."""
    from google_auth_oauthlib.flow import InstalledAppFlow

    _allow_plain_http_on_loopback(config)
    flow = InstalledAppFlow.from_client_config(dict(config), scopes=SCOPES, redirect_uri=CONSOLE_REDIRECT_URI)
    url, state = flow.authorization_url(prompt="consent")
    show_url(url)
    try:
        answer = read_line("Paste the address your browser ended on (or just its code): ").strip()
    except EOFError:
        raise CliError(
            "no authorization code was entered", hint="run calsync auth again and paste the address"
        ) from None
    code = code_from_answer(answer, state)
    try:
        flow.fetch_token(code=code)
    except Exception as exc:
        raise _flow_error(exc) from None
    return str(flow.credentials.to_json())


def code_from_answer(answer: str, state: str) -> str:
    """The authorization code from what the person pasted: a redirect address or a bare code."""
    if not answer:
        raise CliError(
            "no authorization code was entered", hint="run calsync auth again and paste the address"
        )
    if "://" not in answer and "code=" not in answer and "error=" not in answer:
        return answer
    query = parse_qs(urlsplit(answer).query if "://" in answer else answer.lstrip("?"))
    if "error" in query:
        raise _denied(query["error"][0])
    if query.get("state", [state])[0] != state:
        raise CliError(
            "the pasted address belongs to another sign-in (its state does not match)",
            hint="paste the address from the browser tab opened for this run",
        )
    codes = query.get("code")
    if not codes:
        raise CliError("the pasted address carries no code", hint="paste the whole address from the browser")
    return codes[0]


def _denied(error: str) -> CliError:
    return CliError(
        f"Google sign-in did not grant access ({error})",
        hint="run calsync auth again and click Allow; with an app in Testing, add your account as "
        "a test user (docs/google-cloud.md)",
    )


def _flow_error(exc: Exception) -> CliError:
    """One line for what oauthlib / requests / the WSGI server raise; never the token."""
    from oauthlib.oauth2.rfc6749.errors import (  # type: ignore[import-untyped]
        AccessDeniedError,
        OAuth2Error,
    )
    from requests.exceptions import RequestException

    if isinstance(exc, AccessDeniedError):
        return _denied(exc.error)
    if isinstance(exc, OAuth2Error):
        return CliError(
            f"Google refused the sign-in: {exc.error}" + (f" ({exc.description})" if exc.description else ""),
            hint="check that the client secrets file belongs to an OAuth client of type Desktop app",
        )
    if isinstance(exc, RequestException):
        return CliError(
            f"cannot reach Google's token endpoint: {type(exc).__name__}",
            hint="check the network connection and the token_uri in the client secrets file",
        )
    if type(exc).__name__ == "WSGITimeoutError":
        return CliError("nobody completed the sign-in in time", hint="run calsync auth again")
    return CliError(f"the sign-in failed: {type(exc).__name__}: {exc}")
