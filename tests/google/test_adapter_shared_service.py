"""One Calendar discovery build per process, whatever the number of credentials.

The check runs in a fresh Python process (the build is per process): it counts the real
``googleapiclient.discovery.build_from_document`` calls (a counting wrapper that delegates to
the library), drives many credentials from several threads against the emulator over HTTP,
and measures what each further client costs in memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, threading, tracemalloc
    import googleapiclient.discovery as discovery

    builds = []
    real = discovery.build_from_document
    def counting(*args, **kwargs):
        builds.append(1)
        return real(*args, **kwargs)
    discovery.build_from_document = counting

    from calsync_operator.emulator import EmulatorServer
    from calsync_operator.google.client import GoogleCalendarClient
    from calsync_operator.google.credentials import ManagedCredentials
    from calsync_operator.google.endpoints import GoogleSettings
    from calsync_operator.sync.port import WriteKind, WriteOp

    CREDENTIALS, THREADS, EXTRA = 40, 4, 200
    with EmulatorServer() as emu:
        settings = GoogleSettings(api_root=emu.root_url)
        def client(n):
            token_json = emu.token_json(refresh_token=f"rt-{n}")
            return GoogleCalendarClient(ManagedCredentials(token_json, source=f"s{n}"), settings)
        clients = [client(n) for n in range(CREDENTIALS)]
        emu.create_calendar(*[f"cal{n}" for n in range(CREDENTIALS)])
        failures = []
        def work(mine):
            for n, c in mine:
                body = {"summary": "x", "start": {"dateTime": "2026-12-01T09:00:00Z"},
                        "end": {"dateTime": "2026-12-01T10:00:00Z"}}
                [written] = c.write([WriteOp(WriteKind.INSERT, f"cal{n}", f"ev{n:05d}", body)])
                listed = c.list_events(f"cal{n}", time_min="2026-11-01T00:00:00Z")
                if not written.ok or [e["id"] for e in listed.events] != [f"ev{n:05d}"]:
                    failures.append(n)
        threads = [threading.Thread(target=work, args=(list(enumerate(clients))[i::THREADS],))
                   for i in range(THREADS)]
        for t in threads: t.start()
        for t in threads: t.join()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        extra = [client(CREDENTIALS + n) for n in range(EXTRA)]
        grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
        print(json.dumps({
            "builds": len(builds),
            "failures": failures,
            "token_refreshes": emu.counters.calls("token", 200),
            "buckets": len({id(c.limiter) for c in clients + extra}),
            "bytes_per_client": grown / EXTRA,
        }))
    """
)


def test_many_credentials_share_one_discovery_build() -> None:
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["builds"] == 1
    assert result["failures"] == []
    # Credentials stay per credential: each refreshed its own access token, each has its bucket.
    assert result["token_refreshes"] == 40
    assert result["buckets"] == 240
    # A client is a credential plus a few small objects, not a discovery build (~1.5 MB).
    assert result["bytes_per_client"] < 20_000, result
