"""Hostile HTTP clients over a real server: REST ``/v1/turns`` checks the token before reading the
body, caps the body, answers bad text with a stable 4xx code and writes nothing when it refuses;
slow clients (slowloris) lose their sockets."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from assistant.auth import issue_token
from tests.api.test_hostile_ws import SECRET, rows


@pytest.fixture
def http(server):
    with httpx.Client(base_url=server.http, timeout=30) as client:
        yield client


def _raw(port: int, data: bytes, wait_s: float = 20) -> bytes:
    """Send raw bytes, return what the server answers before it closes (or wait_s passes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait_s) as sock:
        sock.sendall(data)
        got = b""
        try:
            while chunk := sock.recv(65536):
                got += chunk
                if b"\r\n\r\n" in got:
                    break
        except TimeoutError:
            pass
        return got


def _error(response: httpx.Response) -> dict:
    return response.json()["detail"]


# --- bad text and bad JSON get stable 4xx codes -------------------------------------------------
def test_lone_surrogate_over_rest_is_a_400_bad_text(http, settings):
    before = rows(settings, "conversations")
    response = http.post("/v1/turns", content=b'{"text": "\\ud800", "user": "u_li"}',
                         headers={"content-type": "application/json"})
    assert response.status_code == 400 and _error(response)["code"] == "bad-text"
    assert rows(settings, "conversations") == before
    assert http.post("/v1/turns", json={"text": "余额", "user": "u_li"}).json()["reply"]["type"] == "reply"


@pytest.mark.parametrize("body, code", [
    (b"[" * 5000 + b"]" * 5000, "too-deep"),
    (b'{"text": "hi", "x": ' + b"[" * 40 + b"]" * 40 + b"}", "too-deep"),
    (b"{not json", "bad-json"),
    (b'"\xed\xa0\x80"', "bad-json"),  # a surrogate smuggled in as UTF-8 bytes
])
def test_bad_json_bodies_get_stable_codes(http, body, code):
    response = http.post("/v1/turns", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400 and _error(response)["code"] == code


def test_request_validation_keeps_422_with_a_code(http):
    response = http.post("/v1/turns", json={"user": "u_li"})
    assert response.status_code == 422 and _error(response)["code"] == "invalid-message"


# --- body size ----------------------------------------------------------------------------------
def test_a_body_over_the_limit_is_refused_by_its_content_length(server, settings):
    before = rows(settings, "conversations")
    head = (b"POST /v1/turns HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
            b"content-length: 104857600\r\n\r\n")
    answer = _raw(server.port, head + b'{"text": "hi", "user": "u_li", "pad": "')  # 100 MB promised, not sent
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert rows(settings, "conversations") == before


def test_a_chunked_body_over_the_limit_is_refused_while_streaming(http, settings):
    def body():
        yield b'{"text": "hi", "user": "u_li", "pad": "'
        for _ in range(200):  # 200 x 8 KB: well over 64 KB, with no content-length
            yield b"x" * 8192
        yield b'"}'

    response = http.post("/v1/turns", content=body(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and _error(response)["code"] == "message-too-large"


def test_a_small_padded_body_is_fine(http):
    response = http.post("/v1/turns", json={"text": "余额", "user": "u_li", "pad": "x" * 30_000})
    assert response.status_code == 200 and response.json()["reply"]["type"] == "reply"


# --- auth ---------------------------------------------------------------------------------------
def test_without_a_token_the_body_is_never_read(make_server):
    """401 comes back while the (100 MB) body is still unsent: anonymous bodies cost nothing."""
    live, _ = make_server(auth="on", secret_key=SECRET)
    head = (b"POST /v1/turns HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
            b"content-length: 104857600\r\n\r\n")
    answer = _raw(live.port, head + b'{"text": "')
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_bearer_scheme_is_case_insensitive(make_server, scheme):
    live, settings = make_server(auth="on", secret_key=SECRET)
    token = issue_token("u_amy", settings)
    response = httpx.post(f"{live.http}/v1/turns", json={"text": "what's my balance"}, timeout=30,
                          headers={"authorization": f"{scheme} {token}"})
    assert response.status_code == 200, response.text
    assert "¥1,000.00" in response.json()["reply"]["text"]


@pytest.mark.parametrize("header", ["Basic dTpw", "Token abc", "Bearer", ""])
def test_other_schemes_are_unauthorized(make_server, header):
    live, _ = make_server(auth="on", secret_key=SECRET)
    response = httpx.post(f"{live.http}/v1/turns", json={"text": "hi"}, timeout=30,
                          headers={"authorization": header} if header else {})
    assert response.status_code == 401 and _error(response)["code"] == "unauthorized"


def test_rest_refuses_a_token_for_a_user_that_does_not_exist(make_server):
    live, settings = make_server(auth="on", secret_key=SECRET)
    before = rows(settings, "conversations"), rows(settings, "audit_log")
    response = httpx.post(f"{live.http}/v1/turns", json={"text": "余额"}, timeout=30,
                          headers={"authorization": f"Bearer {issue_token('u_ghost', settings)}"})
    assert response.status_code == 401 and _error(response)["code"] == "unauthorized"
    assert (rows(settings, "conversations"), rows(settings, "audit_log")) == before


def test_rest_refuses_an_unknown_demo_user(http, settings):
    before = rows(settings, "conversations")
    response = http.post("/v1/turns", json={"text": "余额", "user": "u_ghost"})
    assert response.status_code == 400 and _error(response)["code"] == "unknown-user"
    assert rows(settings, "conversations") == before


# --- the database grows only with real work -----------------------------------------------------
def test_rate_limited_rest_requests_create_nothing(make_server, assistant):
    live, settings = make_server(user_turns_per_minute=6)  # a burst of 5
    before = rows(settings, "conversations"), rows(settings, "audit_log"), rows(settings, "turns")
    with httpx.Client(base_url=live.http, timeout=30) as http:
        statuses = [http.post("/v1/turns", json={"text": "余额", "user": "u_wang"}).status_code for _ in range(12)]
    ok = statuses.count(200)
    assert 0 < ok < 12 and statuses.count(429) == 12 - ok, statuses
    assistant.conversations.flush()  # the turn log is written behind the turns
    assert rows(settings, "conversations") == before[0] + ok
    assert rows(settings, "audit_log") == before[1] + ok  # one session.start row per conversation
    assert rows(settings, "turns") == before[2] + ok


def test_refused_rest_requests_write_nothing(http, settings):
    before = rows(settings, "conversations"), rows(settings, "audit_log"), rows(settings, "turns")
    for body in ({"text": "   ", "user": "u_li"}, {"text": "x" * 5000, "user": "u_li"}, {"user": "u_li"}):
        assert http.post("/v1/turns", json=body).status_code in (400, 422)
    assert (rows(settings, "conversations"), rows(settings, "audit_log"), rows(settings, "turns")) == before


# --- slow clients -------------------------------------------------------------------------------
def _closed_within(sock: socket.socket, limit_s: float, drip: bytes = b"") -> float:
    """Seconds until the server closes ``sock``; drips a byte of ``drip`` every 0.5 s meanwhile."""
    started = time.monotonic()
    sock.settimeout(0.5)
    for byte in drip * 1000:
        if time.monotonic() - started > limit_s:
            break
        try:
            sock.sendall(bytes([byte]))
            if sock.recv(1024) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except OSError:  # reset by the server
            return time.monotonic() - started
    while time.monotonic() - started < limit_s:
        try:
            data = sock.recv(1024)
            if data == b"" or b"HTTP/1.1 4" in data:
                return time.monotonic() - started
        except TimeoutError:
            continue
        except OSError:
            return time.monotonic() - started
    pytest.fail(f"the server kept a slow connection open for {limit_s} s")


@pytest.mark.parametrize("drip", [b"", b"X-Slow: " + b"a" * 2000], ids=["silent", "slowloris"])
def test_slow_headers_lose_the_connection(make_server, drip):
    live, _ = make_server(http_header_timeout_s=1.0)
    with socket.create_connection(("127.0.0.1", live.port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        assert _closed_within(sock, limit_s=30, drip=drip) < 30


def test_a_keep_alive_connection_gets_a_fresh_header_deadline(make_server):
    live, _ = make_server(http_header_timeout_s=1.0, http_keep_alive_s=60)
    with socket.create_connection(("127.0.0.1", live.port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(20)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        time.sleep(0.2)
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # the next request never finishes its headers
        assert _closed_within(sock, limit_s=30, drip=b"X-Slow: " + b"a" * 2000) < 30


def test_a_slow_body_gets_408(make_server):
    live, _ = make_server(http_header_timeout_s=1.0)
    with socket.create_connection(("127.0.0.1", live.port), timeout=30) as sock:
        sock.sendall(b"POST /v1/turns HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
                     b"content-length: 60\r\n\r\n{\"text\": ")
        answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


def test_headers_growing_past_the_limit_are_refused_at_once(server):
    """h11 buffers at most 16 KB of unfinished headers (``h11_max_incomplete_event_size``)."""
    answer = _raw(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000, wait_s=5)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
