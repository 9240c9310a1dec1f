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
