"""A stored turn is bounded whatever a model sent back: reply length, number and size of tool calls."""

from __future__ import annotations

from assistant.store import ConversationStore, init_db, make_engine


def test_a_huge_reply_and_five_hundred_tool_calls_are_stored_bounded(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'lui.db'}")
    init_db(engine)
    store = ConversationStore(engine, max_reply_chars=4000, max_tool_calls=20, max_call_chars=2000)
    session = store.open(user_id="u_li")
    calls = [{"call_id": f"call_{i}", "name": "check_balance", "args": {}, "ok": True, "error": None}
             for i in range(500)]
    calls[0] = {**calls[0], "name": "translate", "args": {"text": "很" * 100_000, "target_lang": "en"}}
    store.append_turn(session.session_id, text="查余额", reply="长" * 1_000_000, tool_calls=calls)
    turn = store.turns(session.session_id)[-1]
    assert len(turn.reply) == 4000 and turn.reply.endswith("…")
    assert len(turn.tool_calls) == 21 and turn.tool_calls[-1] == {"omitted_calls": 480}
    assert turn.tool_calls[0]["name"] == "translate" and turn.tool_calls[0]["args"] == {"omitted": "too large"}
    assert turn.tool_calls[1]["args"] == {}
    engine.dispose()


def test_a_normal_turn_is_stored_as_it_is(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'lui.db'}")
    init_db(engine)
    store = ConversationStore(engine)
    session = store.open(user_id="u_li")
    calls = [{"call_id": "call_1", "name": "query_bill", "args": {"bill_type": "water"}, "ok": True, "error": None}]
    store.append_turn(session.session_id, text="水费", reply="水费42.3元。", tool_calls=calls)
    turn = store.turns(session.session_id)[-1]
    assert turn.reply == "水费42.3元。" and turn.tool_calls == calls
    engine.dispose()
