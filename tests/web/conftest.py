"""The browser pages in a real Chromium (Playwright) against a real uvicorn server on a temp database.

Nothing is skipped: a missing Playwright, Chromium, espeak-ng or sox fails the tests with the
command that installs it. Chromium is Debian's (``/usr/bin/chromium``), never a downloaded one.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from assistant.api.app import create_app
from assistant.api.web import mount_web
from assistant.store.models import Payment
from tests.api.conftest import assistant  # noqa: F401  (the real assistant on a temp SQLite file)
from tests.conftest import REPO, LiveServer

CHROMIUM = os.environ.get("LUI_CHROMIUM", "/usr/bin/chromium")
INSTALL_PLAYWRIGHT = "pip install playwright  (the wheel bundles its driver; do not run `playwright install`)"
INSTALL_CHROMIUM = "apt-get update && apt-get install -y chromium chromium-driver"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
]
SPOKEN = "what is my balance"
SCREENSHOTS = REPO / "evals" / "screenshots"
MAX_SCREENSHOT_BYTES = 300_000


def _require_browser() -> None:
    if importlib.util.find_spec("playwright") is None:
        pytest.fail(f"Playwright (python) is required for the browser tests and is not installed: "
                    f"run `{INSTALL_PLAYWRIGHT}`.", pytrace=False)
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)) and shutil.which(CHROMIUM) is None:
        pytest.fail(f"Chromium is required for the browser tests and {CHROMIUM} is missing: "
                    f"run `{INSTALL_CHROMIUM}` (or set LUI_CHROMIUM to a Chromium binary).", pytrace=False)


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory) -> Path:
    """"what is my balance" from espeak-ng as 48 kHz mono 16-bit, for Chromium's fake microphone.

    0.3 s of silence before and 0.9 s after: the fake device loops the file, and the pause between
    repeats stays shorter than the server's end-of-speech silence (1.5 s)."""
    from voice import synth

    d = tmp_path_factory.mktemp("web-audio")
    try:
        source = synth.speak(SPOKEN, d / "source.wav", pad_s=0.3)
        out = d / "speech_48k.wav"
        synth.run(synth.need("sox"), "-D", source, "-r", "48000", "-c", "1", "-b", "16", "-e", "signed-integer", out,
                  "pad", "0", "0.6")
    except synth.MissingTool as exc:
        pytest.fail(str(exc), pytrace=False)
    return out


@pytest.fixture(scope="module")
def browser(speech_wav):
    """One headless Chromium per test module; Playwright gives each launch a fresh temporary profile.

    Module scope, not session: the sync API holds an event loop in this thread while it runs, which
    would break the asyncio tests of modules collected after these."""
    _require_browser()
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=[*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={speech_wav}"])
    except Exception as exc:
        pw.stop()
        pytest.fail(f"Chromium at {CHROMIUM} did not start under Playwright: {exc}. "
                    f"Install it with `{INSTALL_CHROMIUM}`.", pytrace=False)
    yield browser
    browser.close()
    pw.stop()


def _server(settings, assistant, voice=None) -> LiveServer:  # noqa: F811
    app = create_app(settings, assistant, voice=voice)
    mount_web(app)
    return LiveServer(app)


@pytest.fixture
def web_server(settings, assistant):  # noqa: F811
    with _server(settings, assistant) as live:
        yield live


@pytest.fixture
def voice_server(settings, assistant, tiny_stt_pool):  # noqa: F811
    """The server with speech-to-text (tiny.en)."""
    from assistant.api.audio import VoiceGateway

    with _server(settings, assistant, voice=VoiceGateway(settings, assistant, tiny_stt_pool)) as live:
        yield live


@pytest.fixture
def open_page(browser) -> Iterator[Callable]:
    """Open a URL in a fresh browser context; JavaScript errors in the page fail the test."""
    contexts, errors, outside = [], [], []

    def _open(url: str, width: int = 480, height: int = 860):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                      device_scale_factor=1)
        context.set_default_timeout(20_000)
        contexts.append(context)
        origin = url.split("/", 3)[:3]
        context.route("**/*", lambda route: _only_local(route, "/".join(origin), outside))
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url)
        page.wait_for_function("window.lui && window.lui.ready")
        return page

    yield _open
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"
    assert not outside, f"the pages must load nothing from elsewhere: {outside}"


def _only_local(route, origin: str, outside: list[str]) -> None:
    url = route.request.url
    if url.startswith(origin + "/") or url.startswith("data:"):
        route.continue_()
    else:
        outside.append(url)
        route.abort()


@pytest.fixture
def screenshot(tmp_path) -> Callable:
    """Save a screenshot in the pytest tmp dir, and as evals/screenshots/NAME (the README's pictures)
    when LUI_UPDATE_SCREENSHOTS=1, so a test run does not rewrite tracked files."""

    def _shot(page, name: str) -> Path:
        page.wait_for_timeout(400)  # let smooth scrolling and transitions settle
        data = page.screenshot(path=str(tmp_path / name), full_page=False)
        assert len(data) < MAX_SCREENSHOT_BYTES, f"{name} is {len(data)} bytes; keep it under {MAX_SCREENSHOT_BYTES}"
        if os.environ.get("LUI_UPDATE_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            (SCREENSHOTS / name).write_bytes(data)
        return tmp_path / name

    return _shot


def balance(assistant, user: str) -> int:  # noqa: F811
    return assistant.billing.balance(user).balance_fen


def done_payments(assistant, bill_id: str) -> int:  # noqa: F811
    with Session(assistant.billing.engine) as s:
        return len(s.exec(select(Payment).where(Payment.bill_id == bill_id, Payment.status == "done")).all())
