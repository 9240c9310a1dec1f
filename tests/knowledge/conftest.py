"""Fixtures of the knowledge tests; the embedder and the ingested catalogue live in tests/conftest.py."""

from __future__ import annotations

import pytest

from knowledge.embedders import Embedder


@pytest.fixture(scope="session")
def embedder(use_embedder) -> Embedder:
    return use_embedder
