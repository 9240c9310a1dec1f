from __future__ import annotations

import logging

from assistant.logs import MaskingFilter, mask


def test_mask_keeps_only_account_tails_and_hides_secrets():
    assert mask("户号3100123456 欠费") == "户号******3456 欠费"
    assert mask("account 3301-2245-99") == "account ******4599"
    assert mask("amount 120 on 2026-11 and 2026-11-24") == "amount 120 on 2026-11 and 2026-11-24"
    assert mask("cv_accuracy=0.8974973031") == "cv_accuracy=0.8974973031"
    assert "eyJ" not in mask("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.abc-def_1")
    assert mask("LUI_SECRET_KEY=hunter2hunter2") == "LUI_SECRET_KEY=***"
    assert mask("api_key: sk-123") == "api_key: ***"


def test_filter_masks_formatted_records(caplog):
    logger = logging.getLogger("lui.test.mask")
    logger.addFilter(MaskingFilter())
    with caplog.at_level(logging.INFO, logger="lui.test.mask"):
        logger.info("paying bill for %s", "13800138000")
    assert "13800138000" not in caplog.text and "8000" in caplog.text


def test_access_log_records_keep_their_args_for_uvicorns_formatter():
    from uvicorn.logging import AccessFormatter

    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/ws?token=abc.def-123&acct=3100123456", "1.1", 200), None)
    assert MaskingFilter().filter(record)
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False).format(record)
    assert line == '127.0.0.1:5000 - "GET /ws?token=*** HTTP/1.1" 200 OK', line


def test_install_masking_covers_uvicorn_and_litellm_and_is_idempotent():
    from assistant.logs import THIRD_PARTY_LOGGERS, install_masking

    install_masking()
    install_masking()
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error", "LiteLLM", "litellm"):
        assert name in THIRD_PARTY_LOGGERS
        assert sum(isinstance(f, MaskingFilter) for f in logging.getLogger(name).filters) == 1, name


async def test_json_logs_name_the_session_and_turn_and_stay_masked(settings):
    """A record written inside a turn (here by the router, in its worker pool) carries the turn's
    session and turn id; the account number in it is masked."""
    import io
    import json

    from assistant.logs import setup_logging
    from assistant.nlu.types import Understanding
    from tests.conftest import demo_assistant

    class LoggingRouter:
        def understand(self, text, context=None, lang=None):
            logging.getLogger("lui.test.router").warning("routing for account 3100123456")
            return Understanding("greet", 0.99, {}, "router", "zh")

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging(logging.INFO, "json")
        stream = io.StringIO()
        root.handlers[0].setStream(stream)
        assistant = demo_assistant(settings, LoggingRouter())
        session, _ = assistant.open_session("u_li", "zh")

        async def emit(event) -> None:
            pass

        await assistant.text_turn(session, "你好", emit, msg_id="m-42")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if "routing for account" in line]
    assert len(lines) == 1
    assert lines[0]["session_id"] == session.id and lines[0]["turn_id"] == "m-42"
    assert "3100123456" not in lines[0]["message"] and lines[0]["message"].endswith("******3456")
    assert lines[0]["level"] == "WARNING" and lines[0]["logger"] == "lui.test.router"
