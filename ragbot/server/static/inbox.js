/* ragbot agent inbox (served at /inbox). Plain JS, no build step, no CDN.
 *
 * The agent key is entered once and kept in localStorage. Lists open and assigned tickets
 * (GET /api/tickets?status=...), shows a ticket's transcript (GET /api/tickets/{id}), sends replies
 * (POST /api/tickets/{id}/messages), assigns and resolves. Contract: docs/http-api.md.
 */
(function () {
  "use strict";
  const KEY_STORE = "ragbot:agentKey";
  const LIST_MS = 5000;
  const TICKET_MS = 3000;
  const $ = (sel, root) => (root || document).querySelector(sel);
  const state = { key: localStorage.getItem(KEY_STORE) || "", filter: "active", current: null, timers: [] };

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function api(method, path, body) {
    const resp = await fetch(path.replace(/^\//, ""), {
      method,
      headers: state.key ? { "Content-Type": "application/json", Authorization: "Bearer " + state.key }
        : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await resp.json().catch(() => null);
    if (!resp.ok) {
      const e = data && (data.error || data.detail);
      throw new ApiError(resp.status, (e && e.message) || (typeof e === "string" ? e : "HTTP " + resp.status));
    }
    return data;
  }

  /* A new element holding `text`, with a class when given. */
  function textEl(tag, text, className) {
    const node = document.createElement(tag);
    node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  /* A copy of the element in a <template> of inbox.html (markup lives there, as for the detail pane). */
  function fromTemplate(sel) { return $(sel).content.firstElementChild.cloneNode(true); }

  function when(ts) {
    if (!ts) return "";
    const secs = Math.max(0, Date.now() / 1000 - ts);
    if (secs < 60) return "just now";
    if (secs < 3600) return Math.floor(secs / 60) + " min ago";
    if (secs < 86400) return Math.floor(secs / 3600) + " h ago";
    return new Date(ts * 1000).toLocaleString();
  }

  function ticketId(t) { return t.ticket_id || t.id; }

  /* The customer's words make the headline; the gate's rule id is dropped from the reason. */
  function headline(t) {
    const m = /customer:\s*(.+)$/i.exec(t.summary || "");
    return (m ? m[1] : t.summary) || "Ticket " + ticketId(t);
  }

  function plainReason(reason) { return String(reason || "").replace(/^rule [\w-]+:\s*/, ""); }

  /* Hard-wrapped lines of quoted documents joined back (as the widget does). */
  function unwrap(text) {
    return String(text || "").replace(/([^\s.:;!?\]"\u201d])[ \t]*\n(?![\n\s"\u201c\-\u2022*]|\d+\.)/g, "$1 ");
  }

  function badge(kind, text) { return textEl("span", text, "badge " + kind); }

  function urgencyBadge(t) {
    return t.urgency === "emergency" ? badge("urgent", "Emergency") : badge("normal", "Normal");
  }

  /* ------------------------------------------------------------ sign in */
  function showSignedIn(on) {
    $("#login").hidden = on;
    $("#app").hidden = !on;
    $("#who").hidden = !on;
    state.timers.forEach(clearInterval);
    state.timers = [];
    if (on) {
      refreshList();
      state.timers.push(setInterval(refreshList, LIST_MS));
      state.timers.push(setInterval(() => state.current && loadTicket(state.current, false), TICKET_MS));
      if (location.hash.length > 1) loadTicket(decodeURIComponent(location.hash.slice(1)), false);
    } else {
      $("#key-input").focus();
    }
  }

  async function signIn(e) {
    e.preventDefault();
    state.key = $("#key-input").value.trim();
    $("#login-error").textContent = "";
    try {
      await api("GET", "api/tickets?status=open");
      localStorage.setItem(KEY_STORE, state.key);
      $("#key-input").value = "";
      showSignedIn(true);
    } catch (err) {
      $("#login-error").textContent = err.status === 401 || err.status === 403
        ? "That key is not an agent or admin key (" + err.message + ")." : "Could not reach the server: " + err.message;
    }
  }

  function forgetKey() {
    localStorage.removeItem(KEY_STORE);
    state.key = "";
    state.current = null;
    showSignedIn(false);
  }

  /* ------------------------------------------------------------ ticket list */
  async function refreshList() {
    const statuses = state.filter === "active" ? ["open", "assigned"] : ["resolved"];
    try {
      const pages = await Promise.all(statuses.map((s) => api("GET", "api/tickets?status=" + s)));
      const tickets = pages.flatMap((p) => p.tickets || p);
      tickets.sort((a, b) => (b.urgency === "emergency") - (a.urgency === "emergency") || (b.created_at || 0) - (a.created_at || 0));
      renderList(tickets);
    } catch (err) {
      if (err.status === 401 || err.status === 403) return forgetKey();
      $("#list-status").textContent = "Could not load tickets: " + err.message;
    }
  }

  function renderList(tickets) {
    const list = $("#tickets");
    list.textContent = "";
    $("#list-status").textContent = tickets.length ? tickets.length + " ticket(s)" : "No tickets here.";
    for (const t of tickets) {
      const id = ticketId(t);
      const item = fromTemplate("#ticket-template");
      const button = $(".ticket", item);
      button.dataset.ticket = id;
      if (id === state.current) button.setAttribute("aria-current", "true");
      button.addEventListener("click", () => loadTicket(id, true));
      $(".row", item).prepend(urgencyBadge(t), badge("status " + t.status, t.status));
      $(".time", item).textContent = when(t.created_at);
      $(".ticket-summary", item).textContent = headline(t);
      $(".reason", item).textContent = plainReason(t.reason);
      list.append(item);
    }
  }

  /* ------------------------------------------------------------ one ticket */
  async function loadTicket(id, focus) {
    try {
      const t = await api("GET", "api/tickets/" + encodeURIComponent(id));
      const switched = state.current !== id || !$("#detail .detail-head");
      state.current = id;
      if (location.hash !== "#" + encodeURIComponent(id)) history.replaceState(null, "", "#" + encodeURIComponent(id));
      document.querySelectorAll(".ticket").forEach((b) => {
        if (b.dataset.ticket === id) b.setAttribute("aria-current", "true"); else b.removeAttribute("aria-current");
      });
      if (switched) renderDetail(t); else updateDetail(t);
      if (focus) $("#detail").focus();
    } catch (err) {
      if (err.status === 401 || err.status === 403) return forgetKey();
      if (!focus && err.status === 404) { state.current = null; return; }
      $("#detail").textContent = "Could not load the ticket: " + err.message;
    }
  }

  function renderDetail(t) {
    const detail = $("#detail");
    detail.textContent = "";
    detail.append($("#detail-template").content.cloneNode(true));
    const form = $(".reply", detail);
    const area = $("textarea", form);
    area.id = "reply-text";
    $(".reply-label", form).setAttribute("for", "reply-text");
    area.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
    });
    form.addEventListener("submit", (e) => { e.preventDefault(); sendReply(form); });
    $(".assign", detail).addEventListener("click", () => act("assign"));
    $(".resolve", detail).addEventListener("click", () => act("resolve"));
    updateDetail(t);
  }

  function updateDetail(t) {
    const detail = $("#detail");
    $(".summary", detail).textContent = headline(t);
    const meta = $(".meta", detail);
    meta.textContent = "";
    meta.append(urgencyBadge(t), badge("status " + t.status, t.status),
      document.createTextNode(" opened " + when(t.created_at)));
    const facts = $(".facts", detail);
    facts.textContent = "";
    const scope = Object.entries(t.scope || {}).map(([k, v]) => k + "=" + v).join(", ") || "none";
    for (const [k, v] of [["Reason", plainReason(t.reason)], ["Scope", scope], ["Assigned to", t.assigned_to || "nobody"],
      ["Session", t.session_id]]) {
      facts.append(textEl("dt", k), textEl("dd", v || ""));
    }
    renderTranscript($(".transcript", detail), t.transcript || []);
    renderSources(detail, t.sources || []);
    const resolved = t.status === "resolved";
    $(".assign", detail).disabled = t.status !== "open";
    $(".resolve", detail).disabled = resolved;
    $(".reply textarea", detail).disabled = resolved;
    $(".reply button", detail).disabled = resolved;
  }

  function renderTranscript(list, turns) {
    if (list.childElementCount === turns.length) return;  // unchanged: keep the reader's scroll
    list.textContent = "";
    const who = { user: "Customer", assistant: "Assistant (AI)", agent: "Agent (person)" };
    for (const m of turns) {
      const name = m.role === "agent" && m.name ? m.name + " (person)" : who[m.role] || m.role;
      const item = fromTemplate("#turn-template");
      item.className = "turn " + m.role;
      $(".turn-who", item).textContent = name;
      $(".turn-text", item).textContent = unwrap(m.content !== undefined ? m.content : m.text);
      list.append(item);
    }
    list.scrollTop = list.scrollHeight;
  }

  function renderSources(detail, sources) {
    const box = $(".sources-box", detail);
    const list = $(".sources", detail);
    box.hidden = !sources.length;
    list.textContent = "";
    for (const s of sources) {
      const page = s.page === null || s.page === undefined ? "" : ", p. " + s.page;
      list.append(textEl("li", (s.source || "?") + page + (s.doc_type ? " (" + s.doc_type + ")" : "")));
    }
  }

  async function sendReply(form) {
    const area = $("textarea", form);
    const text = area.value.trim();
    if (!text || !state.current) return;
    const error = $(".error", form);
    error.textContent = "";
    $("button", form).disabled = true;
    try {
      await api("POST", "api/tickets/" + encodeURIComponent(state.current) + "/messages", { text });
      area.value = "";
      await loadTicket(state.current, false);
      refreshList();
    } catch (err) {
      error.textContent = "Not sent: " + err.message;
    } finally {
      $("button", form).disabled = false;
      area.focus();
    }
  }

  async function act(action) {
    if (!state.current) return;
    try {
      await api("POST", "api/tickets/" + encodeURIComponent(state.current) + "/" + action, {});
      await loadTicket(state.current, false);
      refreshList();
    } catch (err) {
      $(".reply .error").textContent = "Could not " + action + ": " + err.message;
    }
  }

  /* ------------------------------------------------------------ start */
  $("#login-form").addEventListener("submit", signIn);
  $("#forget").addEventListener("click", forgetKey);
  document.querySelectorAll(".tab").forEach((tab) => tab.addEventListener("click", () => {
    state.filter = tab.dataset.filter;
    document.querySelectorAll(".tab").forEach((t) => t.setAttribute("aria-pressed", String(t === tab)));
    refreshList();
  }));
  if (state.key) showSignedIn(true);
  else {
    // Open mode (a server with no keys, loopback only) needs no key.
    api("GET", "api/tickets?status=open").then(() => {
      $("#who span").textContent = "Open mode: this server has no keys";
      showSignedIn(true);
    }, () => showSignedIn(false));
  }
})();
