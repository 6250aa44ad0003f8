"""Real-browser tests of the web chat widget and the agent inbox: Debian's chromium driven by
Playwright against a live uvicorn on 127.0.0.1, over a KB built from the bundled knowledge/ folder.

The fast tests use the hashing embedder and a scripted generator (the browser side is the point);
the slow one runs the real MiniLM embedder and SmolLM2. They skip, saying why, only when no
Chromium can be found (`.ci/install-chromium.sh` installs it). Screenshots go to
$RAGBOT_SCREENSHOT_DIR when set (docs/screenshots/ holds the committed ones), else to tmp_path.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from pathlib import Path

import pytest

from ragbot.testing import free_port

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
AGENT_REPLY = "Hi, this is Sam from the Harborview office. I can help with that today."


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def chromium_path() -> str:
    env = os.environ.get("RAGBOT_CHROMIUM")
    for cand in ([env] if env else []) + list(CHROMIUM_CANDIDATES) + [shutil.which("chromium") or ""]:
        if cand and os.access(cand, os.X_OK):
            return cand
    pytest.skip("no Chromium found (looked at $RAGBOT_CHROMIUM, /usr/bin/chromium*, google-chrome); "
                "install it with .ci/install-chromium.sh (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture()
def shots(tmp_path) -> Path:
    d = Path(os.environ.get("RAGBOT_SCREENSHOT_DIR") or tmp_path / "screenshots")
    d.mkdir(parents=True, exist_ok=True)
    return d


class LiveServer:
    """create_app(bot) under uvicorn in a thread on 127.0.0.1:<free port>, with an agent key; the
    demo page (/) carries the demo client key the app creates at start."""

    def __init__(self, bot):
        import uvicorn

        from ragbot.server import create_app
        from ragbot.server.settings import ServeSettings
        from ragbot.state.db import StateDB
        from ragbot.state.keys import KeyStore

        keys = KeyStore(StateDB.for_kb(bot.kb.root))
        self.agent_key = keys.create("agent", name="Sam (agent)").key
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.keys = keys
        self.app = app = create_app(bot, ServeSettings(kb=str(bot.kb.root), demo=True, port=self.port),
                         load_in_background=False)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _fast_config():
    from ragbot.testing import doubles_config

    cfg = doubles_config()  # the gate tuned for the hashing embedder
    cfg.prompt.business_name = "Harborview Property Management"
    cfg.gate.ambiguity_margin = 0.1
    return cfg


@pytest.fixture(scope="module")
def fast_server(tmp_path_factory, build_knowledge_kb):
    from ragbot.bot import Bot
    from ragbot.generators import ScriptedGenerator
    from ragbot.kb.embedders import HashingEmbedder

    cfg = _fast_config()
    root = build_knowledge_kb(tmp_path_factory.mktemp("widget") / "kb", cfg, HashingEmbedder(256))
    bot = Bot.open(root, config=cfg, embedder=HashingEmbedder(256),
                   generator=ScriptedGenerator(["The answer is in the passage [1]."]))
    with LiveServer(bot) as server:
        yield server


@pytest.fixture(scope="module")
def real_server(tmp_path_factory, knowledge_kb_dir, real_embedder, real_generator):
    """The real models over a private copy of the session's knowledge/ KB (the server writes state)."""
    from ragbot.bot import Bot

    root = tmp_path_factory.mktemp("widget-real") / "kb"
    shutil.copytree(knowledge_kb_dir, root)
    bot = Bot.open(root, embedder=real_embedder, generator=real_generator)
    with LiveServer(bot) as server:
        yield server


# ----------------------------------------------------------------------------- page helpers
class Widget:
    """The widget on a page. Playwright's CSS and role locators pierce its open shadow root."""

    def __init__(self, page):
        self.page = page
        self.root = page.locator("#ragbot-widget")
        self.bots = self.root.locator(".msg.bot")

    def open(self):
        from playwright.sync_api import expect

        self.page.get_by_role("button", name="Open chat: Harborview assistant").click()
        expect(self.root.locator("#rb-panel")).to_be_visible()

    def ask(self, text: str, timeout_ms: float = 30_000):
        """Type `text`, press Enter, wait for the final reply; returns that bot message's locator."""
        n = self.bots.count()
        box = self.root.get_by_role("textbox", name="Your message")
        box.fill(text)
        box.press("Enter")
        return self.final(n, timeout_ms)

    def final(self, index: int, timeout_ms: float = 30_000):
        from playwright.sync_api import expect

        msg = self.bots.nth(index)
        expect(msg).to_have_attribute("data-state", "final", timeout=timeout_ms)
        return msg

    def active_element(self) -> str:
        """'tag.class#id' of the element focused inside the shadow root ('' when none)."""
        return self.page.evaluate("""() => {
            const a = document.querySelector('#ragbot-widget').shadowRoot.activeElement;
            return a ? a.tagName.toLowerCase() + '.' + a.className + '#' + a.id : '';
        }""")


def _inbox_sign_in(context, server):
    from playwright.sync_api import expect

    inbox = context.new_page()
    inbox.goto(server.url + "/inbox")
    inbox.get_by_role("textbox", name="Agent key").fill(server.agent_key)
    inbox.get_by_role("button", name="Sign in").click()
    expect(inbox.get_by_role("button", name="Forget key")).to_be_visible()
    return inbox


def _answer_from_inbox(inbox, question: str, shot: Path | None):
    """Open the ticket whose transcript has `question`, reply as the agent; returns the ticket button."""
    from playwright.sync_api import expect

    ticket = inbox.locator(".ticket").filter(has_text=question)
    expect(ticket).to_be_visible(timeout=10_000)
    expect(ticket.locator(".badge.status")).to_have_text("open")
    expect(ticket.locator(".badge.normal")).to_have_text("Normal")
    ticket.click()
    expect(inbox.locator(".transcript")).to_contain_text(question)
    inbox.get_by_role("button", name="Assign to me").click()
    expect(inbox.locator(".meta .badge.status")).to_have_text("assigned")
    expect(inbox.get_by_role("button", name="Assign to me")).to_be_disabled()
    inbox.get_by_role("textbox", name="Reply to the customer").fill(AGENT_REPLY)
    inbox.get_by_role("textbox", name="Reply to the customer").press("Enter")
    expect(inbox.locator(".transcript .turn.agent")).to_contain_text(AGENT_REPLY)
    expect(inbox.locator(".meta .badge.status")).to_have_text("assigned")
    if shot is not None:
        inbox.set_viewport_size({"width": 1280, "height": 1300})
        inbox.locator("#detail").evaluate("el => { el.scrollTop = 0; }")
        inbox.screenshot(path=str(shot))
    return ticket


def _handoff_round_trip(page, widget, context, server, shots, prefix: str):
    """Ask for a person, answer from /inbox, see the reply (also after a reload), resolve; the
    bot answers the next question again."""
    from playwright.sync_api import expect

    handoff = widget.ask("I want to talk to a person")
    expect(handoff).to_have_attribute("data-decision", "handoff")
    expect(handoff.locator(".handoff-note")).to_be_visible()
    expect(widget.root.get_by_role("status").filter(has_text="A person")).to_be_visible()

    inbox = _inbox_sign_in(context, server)
    _answer_from_inbox(inbox, "I want to talk to a person", shots / f"{prefix}inbox.png")

    agent = widget.root.locator(".msg.agent")
    expect(agent).to_contain_text(AGENT_REPLY, timeout=10_000)  # the widget polls every 2 s
    expect(agent.locator(".person-badge")).to_have_text("Person")
    page.screenshot(path=str(shots / f"{prefix}widget-handoff.png"))

    users_before = widget.root.locator(".msg.user").count()
    page.reload()
    widget.open()
    expect(widget.root.locator(".msg.agent")).to_contain_text(AGENT_REPLY)
    expect(widget.root.locator(".msg.agent .who")).to_contain_text("Sam (agent)")  # the agent key's name
    expect(widget.root.locator(".msg.user")).to_have_count(users_before)
    first = widget.bots.first  # a reloaded answer keeps its numbered sources and its thumbs
    expect(first.locator(".src").first).to_have_text(re.compile(r"^\[1\] "))
    expect(first.get_by_role("button", name="Helpful", exact=True)).to_be_visible()

    inbox.get_by_role("button", name="Resolve & give back to the bot").click()
    expect(inbox.locator(".meta .badge.status")).to_have_text("resolved")
    expect(widget.root.locator(".system")).to_contain_text("back with the AI assistant", timeout=10_000)
    expect(widget.root.get_by_role("status").filter(has_text="A person")).to_be_hidden()
    return inbox


# ----------------------------------------------------------------------------- tests
def test_widget_answers_clarifies_hands_off_and_returns_to_the_bot(browser, fast_server, shots):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    page.goto(fast_server.url + "/")
    widget = Widget(page)
    widget.open()
    expect(widget.root.locator(".disclosure")).to_contain_text("AI assistant")
    assert widget.root.locator(".msg").count() == 0, "the AI disclosure comes before any message"

    # An answer, streamed as SSE token events, with a numbered clickable source and thumbs.
    answer = widget.ask("What are your office hours?")
    expect(answer).to_have_attribute("data-decision", "answer")
    assert int(answer.get_attribute("data-tokens")) >= 1, "no token event reached the widget"
    expect(answer.locator(".text")).to_contain_text("Monday to Friday")
    # The demo page styles p and button (serif, letter-spacing); none of it reaches the shadow DOM.
    assert page.locator("main p").first.evaluate("e => getComputedStyle(e).letterSpacing") != "normal"
    assert answer.locator(".text").evaluate("e => getComputedStyle(e).letterSpacing") == "normal"
    source = answer.locator(".src").first
    expect(source).to_have_text("[1] harborview_faq.csv")
    source.click()
    expect(source).to_have_attribute("aria-expanded", "true")
    expect(answer.locator(".src-detail").first).to_be_visible()
    answer.get_by_role("button", name="Helpful", exact=True).click()
    expect(answer.locator(".fb-status")).to_have_text("Thanks for the feedback.")
    expect(answer.get_by_role("button", name="Helpful", exact=True)).to_have_attribute("aria-pressed", "true")
    state = fast_server.app.state.ragbot
    assert [f.rating for f in state.feedback.for_message(answer.get_attribute("data-message-id"))] == ["up"]

    # A clarifying question with its options as buttons; clicking one answers for that property.
    clarify = widget.ask("How much is the security deposit?")
    expect(clarify).to_have_attribute("data-decision", "clarify")
    options = clarify.locator("button.option")
    assert sorted(options.all_inner_texts()) == ["Oak Street", "Pine Avenue"]
    page.screenshot(path=str(shots / "widget-desktop.png"))
    n = widget.bots.count()
    clarify.get_by_role("button", name="Oak Street").click()
    chosen = widget.final(n)
    expect(chosen).to_have_attribute("data-decision", "answer")
    expect(chosen.locator(".src").first).to_contain_text("oak_street")
    expect(options.first).to_be_disabled()

    _handoff_round_trip(page, widget, context, fast_server, shots, "")
    again = widget.ask("How do I pay rent online?")
    expect(again).to_have_attribute("data-decision", "answer")
    expect(again.locator(".src").first).to_contain_text("harborview_faq.csv")
    assert page_errors == []
    context.close()


def test_widget_on_a_375px_phone_by_keyboard(browser, fast_server, shots):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
    page = context.new_page()
    page.goto(fast_server.url + "/")
    widget = Widget(page)
    page.get_by_role("button", name="Open chat: Harborview assistant").focus()
    page.keyboard.press("Enter")
    panel = widget.root.locator("#rb-panel")
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    assert box["x"] == 0 and box["width"] == 375, box  # the open panel fills a phone screen
    assert widget.active_element() == "textarea.#rb-input", "opening focuses the message box"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, "the page scrolls sideways"

    page.keyboard.type("Can I pay rent in cash?")
    page.keyboard.press("Enter")
    reply = widget.final(0)
    expect(reply).to_have_attribute("data-decision", "answer")
    expect(reply.locator(".src").first).to_be_visible()
    wide = page.evaluate("""() => [...document.querySelector('#ragbot-widget').shadowRoot.querySelectorAll('.msg')]
        .filter(m => m.getBoundingClientRect().right > 375).length""")
    assert wide == 0, "a message is wider than the screen"
    page.keyboard.press("Tab")
    assert widget.active_element().startswith("button.send"), widget.active_element()
    page.screenshot(path=str(shots / "widget-mobile.png"))

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    assert widget.active_element().startswith("button.launcher"), "Escape returns focus to the launcher"
    context.close()


PORTAL_PAGE = """<!doctype html><html><head><title>Tenant portal</title></head><body>
<h1>Tenant portal</h1>
<script src="{src}" data-key="{key}" data-title="Harborview assistant" async></script></body></html>"""


class PortalSite:
    """A third-party page (its own HTTP server on another port, so another origin) that serves
    `html` (set it once the origin is known)."""

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        site = self
        self.html = ""

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = site.html.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("allowed", [True, False], ids=["listed-origin", "other-origin"])
def test_widget_embedded_on_another_origin_gets_cors_only_when_its_key_lists_it(browser, fast_server, allowed):
    from playwright.sync_api import expect

    site = PortalSite()
    key = fast_server.keys.create("client", name="tenant portal",
                                  origins=[site.origin if allowed else "https://elsewhere.example"]).key
    site.html = PORTAL_PAGE.format(src=fast_server.url + "/widget.js", key=key)
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(site.origin + "/portal.html")
        widget = Widget(page)
        widget.open()
        box = widget.root.get_by_role("textbox", name="Your message")
        box.fill("What are your office hours?")
        box.press("Enter")
        reply = widget.bots.nth(0)
        if allowed:  # the API base came from the script's src, not from the page's origin
            expect(reply).to_have_attribute("data-state", "final")
            expect(reply.locator(".src").first).to_have_text("[1] harborview_faq.csv")
        else:
            expect(reply).to_have_attribute("data-state", "error")
            expect(reply).to_contain_text("did not go through")
    finally:
        context.close()
        site.close()


def test_emergency_handoff_is_flagged_in_the_inbox(browser, fast_server):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(fast_server.url + "/")
    widget = Widget(page)
    widget.open()
    message = "Water is pouring through the ceiling and flooding my kitchen"
    reply = widget.ask(message)
    expect(reply).to_have_attribute("data-decision", "handoff")
    expect(reply.locator(".text")).to_contain_text("911")
    inbox = _inbox_sign_in(context, fast_server)
    ticket = inbox.locator(".ticket").filter(has_text=message)
    expect(ticket.locator(".badge.urgent")).to_have_text("Emergency", timeout=10_000)
    expect(inbox.locator(".ticket").first).to_contain_text("Emergency")  # emergencies are listed first
    context.close()


@pytest.mark.slow
def test_widget_with_real_models(browser, real_server, shots):
    """The same walk over the real MiniLM + SmolLM2 stack: an answer with a source, a handoff
    answered from the inbox, and the bot again after resolving."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(real_server.url + "/")
    widget = Widget(page)
    widget.open()
    answer = widget.ask("What are your office hours?", timeout_ms=120_000)
    expect(answer).to_have_attribute("data-decision", "answer")
    expect(answer.locator(".src").first).to_contain_text("harborview_faq.csv")
    clarify = widget.ask("How much is the security deposit?", timeout_ms=120_000)
    expect(clarify).to_have_attribute("data-decision", "clarify")
    n = widget.bots.count()
    clarify.locator("button.option").first.click()
    expect(widget.final(n, 120_000)).to_have_attribute("data-decision", "answer")
    page.screenshot(path=str(shots / "real-widget-desktop.png"))
    _handoff_round_trip(page, widget, context, real_server, shots, "real-")
    again = widget.ask("Can I pay rent in cash?", timeout_ms=120_000)
    expect(again).to_have_attribute("data-decision", "answer")
    context.close()
