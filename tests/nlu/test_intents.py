"""The one intent table: every part reads it, and it is complete."""

import inspect

from assistant.handlers import MENU, SOCIAL, SUGGESTIONS
from assistant.llm.understand import INTENT_DOCS, route_tool
from assistant.nlu.data import load_examples
from assistant.nlu.intents import SPECS, spec
from assistant.nlu.slots import INTENT_SLOTS
from assistant.nlu.types import INTENTS, SLOT_NAMES, TRANSACTIONAL
from assistant.replies import MESSAGES
from assistant.settings import Settings


def test_every_transactional_intent_has_a_handler_that_takes_turn_and_slots():
    for name in TRANSACTIONAL:
        handler = spec(name).resolve_handler()
        assert inspect.iscoroutinefunction(handler), name
        assert list(inspect.signature(handler).parameters)[:2] == ["turn", "slots"], name


def test_the_table_feeds_router_policy_and_llm():
    assert INTENTS == tuple(s.name for s in SPECS)
    assert route_tool()["function"]["parameters"]["properties"]["intent"]["enum"] == list(INTENTS)
    for s in SPECS:
        assert f"{s.name}: {s.description}" in INTENT_DOCS
        assert set(s.slots) <= set(SLOT_NAMES)
        assert INTENT_SLOTS.get(s.name, ()) == s.slots
        assert all(key in MESSAGES for key in s.asks.values()), s.name
        assert set(s.asks) <= set(s.slots), s.name
        if s.suggestion:
            assert SUGGESTIONS[s.name] == s.suggestion
        if s.reply:
            assert SOCIAL[s.name] == s.reply and s.reply in MESSAGES
    assert MENU and all(spec(m).suggestion for m in MENU)


def test_training_data_covers_exactly_the_table():
    for path in Settings().router_training_files:
        assert {e.intent for e in load_examples(path)} == set(INTENTS), path.name
