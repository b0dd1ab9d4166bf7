"""Hostile connections against a real `python -m app` process, loopback only, bounded in time.

Each attack is one the service once failed (issue 11, items 1-3): uploads that stall to hold
admission slots, headers without end, connections that never finish their headers or never
send a byte, and one client opening connections until the process runs out of descriptors.
"""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.processes import Server

pytestmark = pytest.mark.slow

KEY = "test-key-0123456789"
LIMITS = {
    "api_key": KEY,
    "max_in_flight": "4",
    "header_timeout_seconds": "1",
    "body_timeout_seconds": "1.5",
    "max_header_bytes": "8192",
    "max_headers": "50",
    "max_connections_per_client": "40",
}


@pytest.fixture(scope="module")
def server(tiny_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("connections") / "server.log"
    running = Server(tiny_models, log, module="app", **LIMITS)
    assert running.wait_until_loaded()[-1].status_code == 200, log.read_text()
    yield running
    running.stop()


def connect(server: Server, stack: ExitStack) -> socket.socket:
    sock = stack.enter_context(socket.create_connection(("127.0.0.1", server.port), timeout=10))
    return sock


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], dict[str, object]]:
    """Status, headers and JSON body of the one response on this socket; it must then close."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, json.loads(body)


def stalled_upload(key: str | None) -> bytes:
    auth = f"Authorization: Bearer {key}\r\n" if key else ""
    return (
        "POST /forecast HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"{auth}Content-Length: 1000000\r\n\r\n{{"
    ).encode()


def forecast_body(server: Server) -> dict[str, object]:
    window = server.client.get("/models").json()["models"][0]["info"]["input"]["window"]
    return {"series": [float(i % 24) for i in range(window)], "horizon": 2}


def test_stalled_uploads_hold_no_admission_slot(server: Server) -> None:
    body = forecast_body(server)
    with ExitStack() as stack:
        # Twice the in-flight limit without a key: refused at once, before any body byte counts.
        for _ in range(8):
            sock = connect(server, stack)
            sock.sendall(stalled_upload(None))
            status, headers, error = read_response(sock)
            assert (status, error["type"], headers["connection"]) == (401, "unauthorized", "close")
        # Twice the limit with the key, stalled mid-body: they wait for their bodies, holding no
        # slot, so a whole request with the key is served meanwhile.
        stalled = [connect(server, stack) for _ in range(8)]
        for sock in stalled:
            sock.sendall(stalled_upload(KEY))
        time.sleep(0.2)
        served = server.client.post("/forecast", json=body, headers={"X-API-Key": KEY})
        assert served.status_code == 200, served.text
        # Each stalled body then runs out of time: 408 and the connection closes.
        for sock in stalled:
            status, headers, error = read_response(sock)
            assert (status, error["type"], headers["connection"]) == (
                408,
                "request_timeout",
                "close",
            )
            assert headers["x-request-id"]


def resident_mb(server: Server) -> float:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return (
        int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])
        / 1024
    )


def test_headers_are_bounded_in_size_and_count(server: Server) -> None:
    before = resident_mb(server)
    with ExitStack() as stack:
        sock = connect(server, stack)
        sent, refused = 0, False
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\nX-Big: ")
        try:  # 50 MB of one header value, unless the server closes first
            while sent < 50_000_000:
                sock.sendall(b"a" * 65536)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError):
            refused = True
        # What was sent includes the kernel's socket buffers (a few MB on loopback).
        assert refused and sent < 16_000_000, f"the server took {sent} header bytes"
        assert resident_mb(server) - before < 20

        # Whole headers in one write, parsed in one read: counted all the same.
        sock = connect(server, stack)
        whole = f"GET /health HTTP/1.1\r\nHost: test\r\nX-Big: {'a' * 9000}\r\n\r\n"
        sock.sendall(whole.encode())
        status, _, error = read_response(sock)
        assert (status, error["type"]) == (431, "headers_too_large")

        many = "".join(f"X-H{i}: v\r\n" for i in range(60))
        sock = connect(server, stack)
        sock.sendall(f"GET /health HTTP/1.1\r\nHost: test\r\n{many}\r\n".encode())
        status, headers, error = read_response(sock)
        assert (status, error["type"]) == (431, "headers_too_large")
        assert "SEQSERVE_MAX_HEADERS" in str(error["error"]) and headers["x-request-id"]
    assert server.client.get("/health").status_code == 200


def test_slow_and_silent_connections_are_closed(server: Server) -> None:
    with ExitStack() as stack:
        partial, silent = connect(server, stack), connect(server, stack)
        partial.sendall(b"GET /health HTTP/1.1\r\nHost: te")
        started = time.monotonic()
        status, _, error = read_response(partial)
        assert (status, error["type"]) == (408, "request_timeout")
        assert silent.recv(1) == b""  # closed without a word: it never said anything
        assert time.monotonic() - started < 8  # the limit is 1 s; the rest is slack for CI


def test_one_client_cannot_take_every_connection(server: Server) -> None:
    with ExitStack() as stack:
        # Silent connections (sending first could reset the refusal before it is read). The
        # last is over the limit of 40 whatever the fixture's own client holds open.
        held = [connect(server, stack) for _ in range(41)]
        status, _, error = read_response(held[-1])
        assert (status, error["type"]) == (503, "too_many_connections")
    time.sleep(0.2)  # the server sees the closes
    assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200


def test_the_http_servers_own_errors_and_logs_are_in_the_one_shape(server: Server) -> None:
    with ExitStack() as stack:
        sock = connect(server, stack)
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        status, headers, error = read_response(sock)
    assert (status, error) == (400, {"error": "malformed HTTP request", "type": "bad_request",
                                     "details": []})  # fmt: skip
    assert headers["x-request-id"] and headers["content-type"] == "application/json"
    lines = server.log.read_text().splitlines()
    assert lines and all(json.loads(line)["message"] for line in lines)  # uvicorn's too
    assert any(json.loads(line)["logger"] == "uvicorn.error" for line in lines)


@pytest.mark.parametrize("grace", ["0", "0.5"])
def test_a_grace_under_a_second_cuts_streams_and_logs_them(
    tiny_models: Path, tmp_path: Path, grace: str
) -> None:
    server = Server(
        tiny_models, tmp_path / "app.log", module="app", max_tokens="100000",
        shutdown_grace_seconds=grace,
    )  # fmt: skip
    try:
        assert server.wait_until_loaded()[-1].status_code == 200
        body = {"prompt": "R", "max_tokens": 100000, "stream": True}
        with server.client.stream("POST", "/generate", json=body) as response:
            lines = response.iter_lines()
            next(lines)
            server.process.send_signal(signal.SIGTERM)
            with pytest.raises(httpx.HTTPError):  # the stream is cut, not finished
                for _ in lines:
                    pass
        server.process.wait(timeout=10)  # it once waited for ever
        entries = [json.loads(line) for line in server.log.read_text().splitlines()]
        (cut,) = [e for e in entries if e.get("path") == "/generate"]
        assert cut["cut_at_shutdown"] is True and cut["status"] == 200
    finally:
        server.stop()
