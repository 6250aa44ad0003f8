/* ragbot web chat widget (self-contained: no CDN, no build step).
 *
 * Embed with one tag:
 *   <script src="https://HOST/widget.js" data-key="CLIENT_KEY" data-title="Ask Harborview"
 *           data-color="#0f766e" async></script>
 * Optional attributes: data-api (API base URL; default: the folder widget.js is served from),
 * data-disclosure (text shown above the first message).
 *
 * Talks to the conversation API of docs/http-api.md: POST /api/conversations,
 * POST /api/conversations/{id}/messages (SSE: token pieces of verified text, then the reply
 * object, which replaces the streamed text), GET /api/conversations/{id} (transcript; polled every
 * 2 s while a person has the conversation), POST /api/messages/{id}/feedback.
 * The session id is kept in localStorage, so the conversation survives a page reload.
 */
(function () {
  "use strict";
  const script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  if (!script || script.dataset.ragbotLoaded) return;
  script.dataset.ragbotLoaded = "1";

  const POLL_MS = 2000;
  const ICONS = {
    chat: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>',
    close: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18"/></svg>',
    send: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M3 11l18-8-8 18-2-8z"/></svg>',
    up: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M7 11v9H4v-9zM7 11l4-8a2 2 0 0 1 3 2l-1 5h6a2 2 0 0 1 2 2l-2 7a2 2 0 0 1-2 1H7"/></svg>',
    down: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M17 13V4h3v9zM17 13l-4 8a2 2 0 0 1-3-2l1-5H5a2 2 0 0 1-2-2l2-7a2 2 0 0 1 2-1h10"/></svg>',
  };

  function readConfig(el) {
    const src = new URL(el.src, location.href);
    let base = el.dataset.api ? new URL(el.dataset.api, location.href) : new URL(".", src);
    if (!base.href.endsWith("/")) base = new URL(base.href + "/");
    const key = /^\{\{.*\}\}$/.test(el.dataset.key || "") ? "" : (el.dataset.key || "");  // unfilled template
    const title = (el.dataset.title || "Chat with us").slice(0, 80);
    const color = el.dataset.color && CSS.supports("color", el.dataset.color) ? el.dataset.color : "#0f62fe";
    return {
      base: base.href, css: new URL("widget.css", src).href, key, title, color,
      disclosure: el.dataset.disclosure || "You are chatting with an AI assistant. It answers from "
        + "our documents and can be wrong; ask for a person at any time.",
      storageKey: "ragbot:session:" + base.href + ":" + key,
    };
  }

  /* localStorage, or nothing where the browser refuses it (the conversation then lasts one page view). */
  const store = {
    get(k) { try { return localStorage.getItem(k); } catch (e) { return null; } },
    set(k, v) { try { localStorage.setItem(k, v); } catch (e) { /* not kept */ } },
    remove(k) { try { localStorage.removeItem(k); } catch (e) { /* nothing kept */ } },
  };

  /* ---------------------------------------------------------------- HTTP + SSE */
  class ApiError extends Error {
    constructor(status, message, retryAfter) {
      super(message);
      this.status = status;
      this.retryAfter = retryAfter;
    }
  }

  function errorText(data, status) {
    const e = data && (data.error || data.detail);
    if (e && typeof e === "object" && e.message) return e.message;
    if (typeof e === "string") return e;
    return "The server answered " + status + ".";
  }

  function makeApi(cfg) {
    const url = (path) => new URL(path.replace(/^\//, ""), cfg.base).href;
    const headers = (accept) => {
      const h = { "Content-Type": "application/json", Accept: accept || "application/json" };
      if (cfg.key) h.Authorization = "Bearer " + cfg.key;
      return h;
    };
    async function failIfBad(resp) {
      if (resp.ok) return resp;
      const data = await resp.json().catch(() => null);
      throw new ApiError(resp.status, errorText(data, resp.status), resp.headers.get("Retry-After"));
    }
    return {
      async json(method, path, body) {
        const resp = await failIfBad(await fetch(url(path), {
          method, headers: headers(), body: body === undefined ? undefined : JSON.stringify(body),
        }));
        return resp.json();
      },
      async stream(path, body, onEvent) {
        const resp = await failIfBad(await fetch(url(path), {
          method: "POST", headers: headers("text/event-stream"), body: JSON.stringify(body),
        }));
        const type = resp.headers.get("Content-Type") || "";
        if (!type.includes("text/event-stream") || !resp.body) return onEvent("reply", await resp.json());
        await readSse(resp.body, onEvent);
      },
    };
  }

  /* Parses a text/event-stream body (CRLF, LF or CR line ends) and calls onEvent(name, payload)
   * for each event; payload is the JSON-decoded data (or the raw string). */
  async function readSse(body, onEvent) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    const flush = (final) => {
      let text = buf.replace(/\r\n|\r(?!$)/g, "\n");
      if (final) text = text.replace(/\r$/, "\n") + "\n\n";
      let cut;
      while ((cut = text.indexOf("\n\n")) >= 0) {
        const ev = parseSseBlock(text.slice(0, cut));
        text = text.slice(cut + 2);
        if (ev) onEvent(ev.event, ev.data);
      }
      buf = text;
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      flush(false);
    }
    buf += decoder.decode();
    flush(true);
  }

  function parseSseBlock(block) {
    let event = "message";
    const lines = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") lines.push(value);
    }
    if (!lines.length) return null;
    const raw = lines.join("\n");
    if (raw === "[DONE]") return null;
    let data = raw;
    try { data = JSON.parse(raw); } catch (e) { /* plain-text data */ }
    if (event === "message" && data && typeof data === "object" && typeof data.type === "string") event = data.type;
    return { event, data };
  }

  /* ---------------------------------------------------------------- DOM helpers */
  function h(tag, attrs, children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "html") el.innerHTML = v;  // only our own ICONS
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children || []) if (c) el.append(c);
    return el;
  }

  function textColorOn(color) {
    const probe = document.createElement("span");
    probe.style.color = color;
    document.body.append(probe);
    const rgb = getComputedStyle(probe).color.match(/\d+(\.\d+)?/g) || ["0", "0", "0"];
    probe.remove();
    const [r, g, b] = rgb.slice(0, 3).map((x) => {
      const c = Number(x) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.4 ? "#111" : "#fff";
  }

  function sourceLabel(s) {
    const page = s.page === null || s.page === undefined ? "" : ", p. " + s.page;
    return (s.source || "source") + page;
  }

  /* Line breaks that only wrap a quoted source line become spaces; breaks after a sentence, a
   * citation or a closing quote, and before a quote or a list item, stay. */
  function unwrap(text) {
    return String(text || "").replace(/([^\s.:;!?\]"\u201d])[ \t]*\n(?![\n\s"\u201c\-\u2022*]|\d+\.)/g, "$1 ");
  }

  /* Reply text with its [n] citation markers turned into buttons that jump to source n. */
  function renderText(el, text, sourceCount, onCite) {
    el.textContent = "";
    const parts = unwrap(text).split(/(\[\d+\])/);
    for (const part of parts) {
      const m = part.match(/^\[(\d+)\]$/);
      const n = m ? Number(m[1]) : 0;
      if (n >= 1 && n <= sourceCount) {
        el.append(h("button", { type: "button", class: "cite", "aria-label": "Source " + n, text: "[" + n + "]",
          onclick: () => onCite(n) }));
      } else if (part) {
        el.append(document.createTextNode(part));
      }
    }
  }

  function messageText(m) {
    return m.content !== undefined ? m.content : (m.text || "");
  }

  function isHandedOff(data) {
    if (typeof data.handed_off === "boolean") return data.handed_off;
    return data.ticket_status === "open" || data.ticket_status === "assigned";
  }

  /* ---------------------------------------------------------------- the view (shadow DOM) */
  class ChatView {
    constructor(cfg, actions) {
      this.cfg = cfg;
      this.actions = actions;
      this.host = h("div", { id: "ragbot-widget" });
      this.host.style.setProperty("--rb-color", cfg.color);
      this.host.style.setProperty("--rb-on-color", textColorOn(cfg.color));
      const root = this.host.attachShadow({ mode: "open" });
      const wrap = h("div", { class: "rb", hidden: true });  // shown once widget.css has loaded
      const css = h("link", { rel: "stylesheet", href: cfg.css });
      const show = () => { wrap.hidden = false; };
      css.addEventListener("load", show);
      css.addEventListener("error", show);
      root.append(css, wrap);
      this.launcher = h("button", { type: "button", class: "launcher", "aria-expanded": "false",
        "aria-controls": "rb-panel", "aria-label": "Open chat: " + cfg.title, html: ICONS.chat,
        onclick: () => (this.panel.hidden ? this.open() : this.close()) });
      this.panel = this.buildPanel();
      wrap.append(this.panel, this.launcher);
      document.body.append(this.host);
    }

    buildPanel() {
      this.log = h("div", { class: "log", role: "log", "aria-live": "polite", tabindex: "0", "aria-label": "Conversation" });
      this.disclosure = h("p", { class: "disclosure", role: "note" },
        [h("span", { class: "ai-badge", text: "AI" }), h("span", { text: this.cfg.disclosure })]);
      this.log.append(this.disclosure);
      this.status = h("div", { class: "status", role: "status", hidden: true });
      this.input = h("textarea", { id: "rb-input", rows: "1", maxlength: "2000", placeholder: "Type your question",
        "aria-label": "Your message", onkeydown: (e) => this.onInputKey(e) });
      this.sendButton = h("button", { type: "submit", class: "send", "aria-label": "Send", html: ICONS.send });
      const form = h("form", { class: "composer", onsubmit: (e) => { e.preventDefault(); this.submit(); } },
        [this.input, this.sendButton]);
      const header = h("header", {}, [
        h("div", { class: "titles" }, [h("h2", { id: "rb-title", text: this.cfg.title }),
          h("p", { class: "subtitle", text: "AI assistant \u00b7 a person can take over" })]),
        h("button", { type: "button", class: "close", "aria-label": "Close chat", html: ICONS.close,
          onclick: () => this.close() }),
      ]);
      return h("section", { id: "rb-panel", class: "panel", role: "dialog", "aria-labelledby": "rb-title", hidden: true,
        onkeydown: (e) => { if (e.key === "Escape") { e.preventDefault(); this.close(); } } },
      [header, this.log, this.status, form]);
    }

    open() {
      this.panel.hidden = false;
      this.host.classList.add("open");
      this.launcher.setAttribute("aria-expanded", "true");
      this.launcher.classList.remove("unread");
      this.launcher.setAttribute("aria-label", "Close chat: " + this.cfg.title);
      this.scroll();
      this.input.focus();
      this.actions.opened();
    }

    close() {
      this.panel.hidden = true;
      this.host.classList.remove("open");
      this.launcher.setAttribute("aria-expanded", "false");
      this.launcher.setAttribute("aria-label", "Open chat: " + this.cfg.title);
      this.launcher.focus();
    }

    onInputKey(e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.submit();
      }
    }

    async submit() {
      const text = this.input.value;
      if (!text.trim() || this.sendButton.disabled) return;
      this.input.value = "";
      await this.actions.send(text);
    }

    scroll() { this.log.scrollTop = this.log.scrollHeight; }

    append(el) { this.log.append(el); this.scroll(); return el; }

    setBusy(on) {
      this.sendButton.disabled = on;
      this.log.setAttribute("aria-busy", on ? "true" : "false");
    }

    setDisclosure(text) { this.disclosure.lastChild.textContent = text; }

    systemNote(text) { this.append(h("p", { class: "system", text })); }

    setHandoffStatus(on) {
      this.status.hidden = !on;
      this.status.textContent = on ? "A person from our team has this conversation and will reply here." : "";
    }

    markUnread() {
      if (!this.panel.hidden) return;
      this.launcher.classList.add("unread");
      this.launcher.setAttribute("aria-label", "Open chat: " + this.cfg.title + " (new message)");
    }

    renderUser(text) {
      this.append(h("div", { class: "msg user", "data-role": "user" }, [
        h("span", { class: "sr-only", text: "You said:" }), h("p", { class: "bubble", text })]));
    }

    renderAgent(m) {
      const name = m.name || m.agent || "Team member";
      this.append(h("div", { class: "msg agent", "data-role": "agent" }, [
        h("p", { class: "who" }, [h("span", { class: "person-badge", text: "Person" }), h("span", { text: name })]),
        h("p", { class: "bubble", text: messageText(m) })]));
    }

    renderStored(m, isLast) {
      if (m.role === "user") this.renderUser(messageText(m));
      else if (m.role === "agent") this.renderAgent(m);
      else {
        const el = this.append(this.botShell());
        this.renderBotBody(el, { text: messageText(m), decision: m.decision, sources: m.sources || [],
          options: m.options, message_id: m.message_id }, isLast);
      }
    }

    botShell() {
      return h("div", { class: "msg bot", "data-role": "assistant" }, [
        h("span", { class: "sr-only", text: "Assistant said:" }), h("div", { class: "bubble" }, [h("p", { class: "text" })])]);
    }

    /* A bot message being answered: tokens stream into it, then the final reply replaces them. */
    startBot() {
      const el = this.append(this.botShell());
      const text = el.querySelector(".text");
      el.dataset.state = "waiting";
      el.dataset.tokens = "0";
      text.append(h("span", { class: "typing", "aria-label": "The assistant is answering" },
        [h("i"), h("i"), h("i")]));
      let streamed = "";
      return {
        addToken: (piece) => {
          streamed += piece;
          text.textContent = unwrap(streamed);
          el.dataset.state = "streaming";
          el.dataset.tokens = String(Number(el.dataset.tokens) + 1);
          this.scroll();
        },
        finish: (reply) => { this.renderBotBody(el, reply, true); el.dataset.state = "final"; },
        fail: (message) => { el.classList.add("error"); el.dataset.state = "error"; text.textContent = message; },
      };
    }

    renderBotBody(el, reply, interactive) {
      const bubble = el.querySelector(".bubble");
      const sources = Array.isArray(reply.sources) ? reply.sources : [];
      el.dataset.decision = reply.decision || "answer";
      if (reply.message_id) el.dataset.messageId = reply.message_id;
      bubble.textContent = "";
      const text = h("p", { class: "text" });
      const list = sources.length ? this.sourceList(sources) : null;
      renderText(text, reply.text, sources.length, (n) => {
        const item = list && list.querySelectorAll(".src")[n - 1];
        if (item) { item.focus(); item.click(); }
      });
      bubble.append(text);
      if (reply.decision === "clarify") bubble.append(this.optionButtons(reply, interactive));
      if (reply.decision === "handoff") {
        bubble.append(h("p", { class: "handoff-note", text: "A person from our team will reply in this chat." }));
      }
      if (list) bubble.append(list);
      if (reply.message_id) el.append(this.feedbackButtons(reply.message_id));
      this.scroll();
    }

    optionButtons(reply, interactive) {
      const labels = Array.isArray(reply.options) && reply.options.length ? reply.options
        : ((reply.signals && reply.signals.candidates) || []).map((c) => c.label).filter(Boolean);
      const group = h("div", { class: "options", role: "group", "aria-label": "Choose one" });
      for (const label of labels) {
        group.append(h("button", { type: "button", class: "option", text: label, disabled: !interactive,
          onclick: (e) => {
            group.querySelectorAll("button").forEach((b) => { b.disabled = true; });
            e.currentTarget.setAttribute("aria-pressed", "true");
            this.actions.send(label);
          } }));
      }
      return group;
    }

    sourceList(sources) {
      const list = h("ol", { class: "sources", "aria-label": "Sources" });
      sources.forEach((s, i) => {
        const label = "[" + (i + 1) + "] " + sourceLabel(s);
        let item;
        if (s.url) {
          item = h("a", { class: "src", href: s.url, target: "_blank", rel: "noopener", text: label });
        } else {
          const detail = h("span", { class: "src-detail", hidden: true,
            text: (s.doc_type ? s.doc_type.toUpperCase() + " document" : "Document") + ": " + sourceLabel(s) });
          item = h("button", { type: "button", class: "src", "aria-expanded": "false", text: label,
            onclick: () => {
              const open = item.getAttribute("aria-expanded") !== "true";
              item.setAttribute("aria-expanded", String(open));
              detail.hidden = !open;
            } });
          list.append(h("li", {}, [item, detail]));
          return;
        }
        list.append(h("li", {}, [item]));
      });
      return list;
    }

    feedbackButtons(messageId) {
      const status = h("span", { class: "fb-status", role: "status" });
      const group = h("div", { class: "feedback", role: "group", "aria-label": "Was this answer helpful?" });
      const rate = async (rating, button) => {
        try {
          await this.actions.feedback(messageId, rating);
          group.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
          status.textContent = "Thanks for the feedback.";
        } catch (err) {
          status.textContent = "Could not send feedback.";
        }
      };
      for (const [rating, label] of [["up", "Helpful"], ["down", "Not helpful"]]) {
        const b = h("button", { type: "button", class: "fb fb-" + rating, "aria-label": label, "aria-pressed": "false",
          "data-rating": rating, html: ICONS[rating], onclick: () => rate(rating, b) });
        group.append(b);
      }
      group.append(status);
      return group;
    }
  }

  /* ---------------------------------------------------------------- the widget */
  class ChatWidget {
    constructor(cfg) {
      this.cfg = cfg;
      this.api = makeApi(cfg);
      this.sessionId = store.get(cfg.storageKey);
      this.seen = 0;          // transcript messages the log already reflects
      this.busy = false;      // a turn is in flight
      this.turns = 0;         // turns started (a poll that raced a turn drops its transcript)
      this.pollTimer = null;
      this.view = new ChatView(cfg, {
        send: (text) => this.send(text),
        feedback: (id, rating) => this.api.json("POST", "api/messages/" + encodeURIComponent(id) + "/feedback", { rating }),
        opened: () => this.restoreOnce(),
      });
      if (this.sessionId) this.restoreOnce();
    }

    restoreOnce() {
      if (!this.restoring) this.restoring = this.restore();
      return this.restoring;
    }

    async restore() {
      if (!this.sessionId) return;
      try {
        const data = await this.api.json("GET", "api/conversations/" + encodeURIComponent(this.sessionId));
        const msgs = data.messages || data.transcript || [];
        msgs.forEach((m, i) => this.view.renderStored(m, i === msgs.length - 1));
        this.seen = msgs.length;
        this.setHandedOff(isHandedOff(data));
      } catch (err) {
        if (err.status === 404 || err.status === 403 || err.status === 401) this.forgetSession();
        else this.view.systemNote("Could not load the earlier conversation: " + err.message);
      }
    }

    forgetSession() {
      this.sessionId = null;
      store.remove(this.cfg.storageKey);
    }

    async ensureSession() {
      if (this.sessionId) return this.sessionId;
      const data = await this.api.json("POST", "api/conversations", {});
      this.sessionId = data.session_id;
      store.set(this.cfg.storageKey, this.sessionId);
      if (data.disclosure) this.view.setDisclosure(data.disclosure);
      return this.sessionId;
    }

    async send(text) {
      text = text.trim();
      if (!text || this.busy) return false;
      this.busy = true;
      this.turns += 1;
      this.view.setBusy(true);
      this.view.renderUser(text);
      const bubble = this.view.startBot();
      try {
        await this.restoreOnce();
        const sid = await this.ensureSession();
        let reply = null;
        await this.api.stream("api/conversations/" + encodeURIComponent(sid) + "/messages", { text, stream: true },
          (event, data) => {
            if (event === "token") bubble.addToken(typeof data === "string" ? data : data.text || "");
            else if (event === "reply") reply = data;
            else if (event === "error") throw new ApiError(500, errorText(data, "an error"));
          });
        if (!reply) throw new ApiError(0, "The answer was cut off.");
        bubble.finish(reply);
        await this.syncAfterTurn();
        if (reply.decision === "handoff") this.setHandedOff(true);
      } catch (err) {
        bubble.fail(this.explain(err));
      } finally {
        this.busy = false;
        this.view.setBusy(false);
      }
      return true;
    }

    explain(err) {
      if (err.status === 429 || err.status === 503) {
        const wait = err.retryAfter ? " Please try again in " + err.retryAfter + " s." : " Please try again shortly.";
        return (err.status === 429 ? "Too many messages." : "We are busy right now.") + wait;
      }
      if (err.status === 404) this.forgetSession();
      return "Sorry, that did not go through: " + (err.message || "network error") + ".";
    }

    /* After a turn, the transcript has our user + assistant messages and maybe a person's reply. */
    async syncAfterTurn() {
      try {
        const data = await this.api.json("GET", "api/conversations/" + encodeURIComponent(this.sessionId));
        const msgs = data.messages || data.transcript || [];
        msgs.slice(this.seen).forEach((m) => { if (m.role === "agent") this.view.renderStored(m, false); });
        this.seen = msgs.length;
        this.setHandedOff(isHandedOff(data));
      } catch (err) { /* the next poll or turn catches up */ }
    }

    async poll() {
      if (this.busy || !this.sessionId) return;
      const turn = this.turns;
      try {
        const data = await this.api.json("GET", "api/conversations/" + encodeURIComponent(this.sessionId));
        const msgs = data.messages || data.transcript || [];
        if (this.busy || turn !== this.turns) return;  // a turn ran meanwhile: this transcript is stale
        msgs.slice(this.seen).forEach((m, i) => this.view.renderStored(m, this.seen + i === msgs.length - 1));
        if (msgs.length > this.seen && msgs.slice(this.seen).some((m) => m.role === "agent")) this.view.markUnread();
        this.seen = msgs.length;
        this.setHandedOff(isHandedOff(data));
      } catch (err) {
        if (err.status === 404 || err.status === 401 || err.status === 403) this.setHandedOff(false);
      }
    }

    setHandedOff(on) {
      const was = this.pollTimer !== null;
      if (on && !was) this.pollTimer = setInterval(() => this.poll(), POLL_MS);
      if (!on && was) {
        clearInterval(this.pollTimer);
        this.pollTimer = null;
        this.view.systemNote("The conversation is back with the AI assistant.");
      }
      this.view.setHandoffStatus(on);
    }
  }

  const startWidget = () => new ChatWidget(readConfig(script));
  if (document.body) startWidget();
  else document.addEventListener("DOMContentLoaded", startWidget);
})();
