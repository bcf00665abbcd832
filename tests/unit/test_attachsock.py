"""The waiter's attach socket must not let one client stop the container's output."""

from __future__ import annotations

from mydocker.core import attachsock


def test_a_client_that_stops_reading_is_dropped(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(attachsock, "SEND_STALL", 0.2)
    server = attachsock.Server(str(tmp_path), -1, -1)
    client = attachsock.connect(str(tmp_path))
    assert client is not None
    try:
        server.handle(server.listener.fileno())  # accept
        assert len(server.clients) == 1
        for _ in range(1000):  # the socket's buffer fills long before this
            server.broadcast("stdout", b"x" * 65536)
            if not server.clients:
                break
        assert not server.clients, "the stalled client was dropped, the output goes on"
    finally:
        client.close()
        server.close()


def test_a_reading_client_gets_the_frames(tmp_path) -> None:
    server = attachsock.Server(str(tmp_path), -1, -1)
    client = attachsock.connect(str(tmp_path))
    assert client is not None
    try:
        server.handle(server.listener.fileno())
        server.broadcast("stderr", b"oops")
        frames = attachsock.Frames().feed(client.recv(100))
        assert frames == [(b"2", b"oops")]
    finally:
        client.close()
        server.close()


def test_a_client_dropped_earlier_in_the_round_is_not_handled(tmp_path) -> None:
    # the waiter's select() named the client's fd; a broadcast in the same round
    # dropped (and closed) it: handling that fd must do nothing, not raise
    server = attachsock.Server(str(tmp_path), -1, -1)
    client = attachsock.connect(str(tmp_path))
    assert client is not None
    try:
        server.handle(server.listener.fileno())
        (accepted,) = server.clients
        stale = accepted.fileno()
        server._drop(accepted)
        server.handle(stale)
        assert not server.clients
    finally:
        client.close()
        server.close()
