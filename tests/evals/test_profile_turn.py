"""evals.profile_turn --server: whole turns through a real server, every server thread profiled."""

from __future__ import annotations

from evals import profile_turn


def test_the_server_profile_sees_the_event_loop_and_the_pool_threads(monkeypatch, capsys, shared_cache, router):
    monkeypatch.setenv("LUI_CACHE_PATH", str(shared_cache))  # the router trained by the fixture
    assert profile_turn.main(["--server", "--clients", "2", "--turns", "4", "--top", "400"]) == 0
    out = capsys.readouterr().out
    head = out.splitlines()[0]
    assert "errors {}" in head and int(head.split("; ")[1].split()[0]) >= 3, head  # loop + router + db threads
    assert "assistant/turns.py" in out and "(understand)" in out and "(write_batch)" in out, out[-3000:]
