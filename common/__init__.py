"""The bottom layer every lui package may import: the coded error root and small text helpers.

``tools``, ``voice`` and ``knowledge`` are libraries the app in ``assistant`` uses; they import
``common`` and each other, never ``assistant``. ``common`` imports nothing of lui.
"""
