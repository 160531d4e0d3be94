"""A kept-alive connection that died during an idle spell is reconnected quietly: the next
call succeeds on its first attempt and logs no retry warning (it is not Google failing)."""

from __future__ import annotations

import logging
import socket

import pytest
from adapter_support import inserts, make_client, new_calendar

from calsync_operator.emulator import EmulatorServer
from calsync_operator.sync.port import WriteKind, WriteOp


def kill_kept_alive_connections(client: object) -> int:
    """What an idle spell does to the thread's kept-alive connections: the far end is gone
    (a load balancer dropped them), so the next send fails with a broken pipe."""
    raw = client._transport.http().http  # type: ignore[attr-defined]
    killed = 0
    for conn in raw.connections.values():
        if conn.sock is not None:
            conn.sock.close()
            ours, theirs = socket.socketpair()
            theirs.close()
            conn.sock = ours
            killed += 1
    return killed


@pytest.mark.parametrize("call", ["list", "batch"])
def test_a_dead_keep_alive_connection_is_replaced_without_a_retry_warning(
    emulator: EmulatorServer, caplog: pytest.LogCaptureFixture, call: str
) -> None:
    calendar = new_calendar(emulator)
    client = make_client(emulator)
    try:
        assert all(r.ok for r in client.write(inserts(calendar, 2)))
        assert kill_kept_alive_connections(client) == 1
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="calsync.google"):
            if call == "list":
                assert len(client.list_events(calendar).events) == 2
            else:
                [result] = client.write([WriteOp(WriteKind.DELETE, calendar, "evt00000")])
                assert result.ok
    finally:
        client.close()
    assert [r.message for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert any("stale keep-alive" in r.message for r in caplog.records)
