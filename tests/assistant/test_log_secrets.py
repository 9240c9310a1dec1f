"""A configured secret (the LLM API key) is masked wherever it shows up in a log line."""

from __future__ import annotations

import logging

from assistant.logs import MaskingFilter, mask, register_secrets


def test_registered_secrets_are_masked_in_any_shape(caplog):
    key = "sk-proj-Zq81fLm0cR7vT2"
    assert key in mask(f"Incorrect API key provided: {key}.")  # not a key=value shape: unknown until registered
    register_secrets(key, None, "")
    assert mask(f"Incorrect API key provided: {key}.") == "Incorrect API key provided: ***."
    logger = logging.getLogger("lui.test.secrets")
    logger.addFilter(MaskingFilter())
    with caplog.at_level(logging.WARNING, logger="lui.test.secrets"):
        logger.warning("LLM call failed: %s", f"AuthenticationError: bad key {key} for model x")
    assert key not in caplog.text and "bad key ***" in caplog.text

