"""Traditional → simplified characters for the words slot rules look for (lives in :mod:`common.hanzi`,
which the ``tools`` and ``voice`` libraries import too)."""

from common.hanzi import to_simplified

__all__ = ["to_simplified"]
