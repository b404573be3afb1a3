// The office page: chat for staff at their office PCs, and for the
// section's approvers today's telework at a glance. Plain JavaScript over
// the broker's own routes and its event socket; everything a message
// carries is set as text, never as markup.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const t = (k, ...a) => i18n.t(k, ...a);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };

  // What the tests and a curious IT person may read: never a token.
  const office = { errors: [], events: 0, hellos: 0 };
  window.office = office;
  document.addEventListener("securitypolicyviolation", (e) => {
    office.errors.push("csp: " + e.violatedDirective + " " + (e.blockedURI || ""));
  });
  // A request the line dropped is no error of the page: the socket
  // drops too, and the next hello pages in whatever was missed.
  const report = (e) => {
    if (e instanceof session.ApiError && e.status === 0) { office.dropped = (office.dropped || 0) + 1; return; }
    office.errors.push(String(e && e.stack || e));
  };

  // ---- language ----------------------------------------------------------

  try { const saved = localStorage.getItem("zaitaku-office-lang"); if (saved && !location.search.includes("lang=")) i18n.lang = saved; } catch (_) { /* none kept */ }
  i18n.lang = i18n.lang;
  function words() {
    i18n.apply();
    $("lang").textContent = t("switchLang");
    document.title = t("brand");
  }
  $("lang").addEventListener("click", () => {
    i18n.lang = i18n.lang === "ja" ? "en" : "ja";
    try { localStorage.setItem("zaitaku-office-lang", i18n.lang); } catch (_) { /* fine */ }
    words();
    renderAll();
  });

  // ---- time in Japan -------------------------------------------------------

  const parts = (d, opts) => {
    const o = {};
    for (const p of new Intl.DateTimeFormat("en-US", Object.assign({ timeZone: "Asia/Tokyo" }, opts)).formatToParts(d)) o[p.type] = p.value;
    return o;
  };
  const WD_JA = { Sun: "日", Mon: "月", Tue: "火", Wed: "水", Thu: "木", Fri: "金", Sat: "土" };
  const dayKey = (iso) => { const p = parts(new Date(iso), { year: "numeric", month: "2-digit", day: "2-digit" }); return p.year + "-" + p.month + "-" + p.day; };
  function dayLabel(iso) {
    const d = new Date(iso);
    const p = parts(d, { year: "numeric", month: "numeric", day: "numeric", weekday: "short" });
    if (i18n.lang === "ja") return p.year + "年" + p.month + "月" + p.day + "日（" + WD_JA[p.weekday] + "）";
    const m = parts(d, { month: "long" }).month;
    return p.weekday + ", " + p.day + " " + m + " " + p.year;
  }
  function clock(iso) {
    if (!iso || iso.startsWith("0001-")) return t("none");
    const p = parts(new Date(iso), { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    return p.hour + ":" + p.minute;
  }

  // ---- state ---------------------------------------------------------------

  let st;
  function fresh() {
    return {
      me: null, policy: { receipts: true }, channels: new Map(), hist: new Map(), receipts: new Map(),
      names: new Map(), presence: new Map(), status: new Map(), open: null, replyTo: null, outbox: [],
      eventSeq: 0, socket: null, retry: 0, retryTimer: 0, stopped: false, approver: false, view: "chat",
      section: null, superTimer: 0, hello: false, editing: null, closedUpTo: 0,
    };
  }
  st = fresh();

  // Socket frames and the answers to sends are applied one at a time, in
  // order, so a catch-up page and a live frame never interleave.
  let chain = Promise.resolve();
  const enqueue = (fn) => { chain = chain.then(fn).catch(report); return chain; };

  // ---- names and presence -------------------------------------------------

  async function ensureNames(ids) {
    const missing = [...new Set(ids)].filter((id) => id && id !== "system" && !st.names.has(id));
    for (let i = 0; i < missing.length; i += 50) {
      const l = await session.api("GET", "/v1/chat/presence?users=" + encodeURIComponent(missing.slice(i, i + 50).join(",")));
      for (const p of l.people) see(p);
    }
  }
  // see keeps what a presence answer or frame says of a colleague.
  function see(p) {
    st.names.set(p.user, p.name || p.user);
    st.presence.set(p.user, p.state);
    st.status.set(p.user, p.status || "");
  }
  const nameOf = (id) => id === "system" ? t("system") : id === st.me.id ? (st.me.name || id) : (st.names.get(id) || id);
  const presenceLabel = (state) => state ? t("presence_" + state) : "";
  const otherOf = (ch) => ch.kind === "direct" ? (ch.members || []).find((m) => m !== st.me.id) : undefined;
  function channelName(ch) {
    if (ch.kind === "direct") {
      const other = otherOf(ch);
      return other ? nameOf(other) : t("system");
    }
    return ch.name || t("unknownChannel");
  }

  const chanPath = (id) => "/v1/chat/channels/" + encodeURIComponent(id);
  const errText = (e) => e instanceof session.ApiError ? i18n.error(e.body) : String(e);
  const short = (text) => text.length > 60 ? text.slice(0, 60) + "…" : text;

  // ---- history -------------------------------------------------------------

  function held(id) { return st.hist.get(id); }
  function newHist() { return { msgs: new Map(), last: 0, oldest: 0, more: false, edits: new Map() }; }

  // applyEntry adds one entry past h.last; edits and deletes change the
  // message they target (remembered, for a message paged in later).
  function applyEntry(h, m) {
    settle(m);
    if (m.seq <= h.last) return false;
    h.last = m.seq;
    if (!h.oldest) h.oldest = m.seq;
    if (m.kind === "message") h.msgs.set(m.seq, Object.assign({}, m));
    else noteEdit(h, m);
    return true;
  }
  // settle takes a message of one's own out of the outbox once the
  // broker holds it, however the page learnt so (its answer, the socket,
  // a page of history after the answer was lost with the line).
  function settle(m) {
    if (m.sender === st.me.id && m.key) st.outbox = st.outbox.filter((p) => p.key !== m.key);
  }
  function noteEdit(h, m) {
    const prev = h.edits.get(m.target);
    if (!prev || prev.seq < m.seq) h.edits.set(m.target, m);
    const target = h.msgs.get(m.target);
    if (target) reviseWith(target, h.edits.get(m.target));
  }
  function reviseWith(msg, e) {
    if (!e) return;
    if (e.kind === "delete") { msg.deleted = true; msg.text = ""; }
    else if (!msg.deleted) { msg.text = e.text; msg.edited_at = e.at; }
  }

  // catchUp pages a held channel from its last entry to the broker's end.
  async function catchUp(id) {
    const h = held(id);
    if (!h) return;
    for (;;) {
      const page = await session.api("GET", "/v1/chat/channels/" + encodeURIComponent(id) + "/messages?after=" + h.last + "&limit=500");
      // Entries purged at the end of their retention: go on from the oldest kept.
      if (page.first_seq > h.last + 1 && page.messages.length === 0) h.last = page.last_seq;
      for (const m of page.messages) applyEntry(h, m);
      const ch = st.channels.get(id);
      if (ch && page.last_seq > ch.last_seq) ch.last_seq = page.last_seq;
      if (!page.more) break;
    }
    await ensureNames([...h.msgs.values()].map((m) => m.sender));
  }

  // loadNewest starts a channel from its newest entries.
  async function loadNewest(id) {
    const page = await session.api("GET", "/v1/chat/channels/" + encodeURIComponent(id) + "/messages?limit=100");
    const h = newHist();
    for (const m of page.messages) applyEntry(h, m);
    h.oldest = page.messages.length ? page.messages[0].seq : 0;
    h.last = Math.max(h.last, page.messages.length ? h.last : page.last_seq);
    h.more = page.more;
    st.hist.set(id, h);
    await ensureNames([...h.msgs.values()].map((m) => m.sender));
  }

  async function loadOlder() {
    const id = st.open, h = held(id);
    if (!h || !h.more) return;
    const page = await session.api("GET", "/v1/chat/channels/" + encodeURIComponent(id) + "/messages?before=" + h.oldest + "&limit=100");
    for (const m of page.messages) {
      if (m.kind === "message") { if (!h.msgs.has(m.seq)) h.msgs.set(m.seq, Object.assign({}, m)); }
      else noteEdit(h, m);
    }
    for (const m of page.messages) { const x = h.msgs.get(m.seq); if (x) reviseWith(x, h.edits.get(m.seq)); }
    if (page.messages.length) h.oldest = page.messages[0].seq;
    h.more = page.more;
    await ensureNames(page.messages.map((m) => m.sender));
    renderConversation(false);
  }

  async function loadReceipts(id) {
    if (!st.policy.receipts) return;
    const r = await session.api("GET", "/v1/chat/channels/" + encodeURIComponent(id) + "/receipts");
    const m = new Map();
    for (const x of r.reads || []) m.set(x.user, x.seq);
    st.receipts.set(id, m);
  }

  // ---- reading ---------------------------------------------------------------

  const viewing = (id) => st.open === id && st.view === "chat" && document.visibilityState === "visible";
  async function markRead(id) {
    const ch = st.channels.get(id), h = held(id);
    if (!ch || !h || !viewing(id)) return;
    ch.unread = 0;
    if (h.last > ch.read_seq) {
      ch.read_seq = h.last;
      await session.api("POST", "/v1/chat/channels/" + encodeURIComponent(id) + "/read", { seq: h.last });
    }
  }
  document.addEventListener("visibilitychange", () => {
    if (st.open) enqueue(async () => { await markRead(st.open); renderChannels(); });
  });

  // ---- the socket --------------------------------------------------------------

  function setConn(key) { $("conn").textContent = key ? t(key) : ""; $("conn").dataset.state = key || ""; }

  function connect() {
    if (st.stopped || !session.signedIn) return;
    const ws = new WebSocket(session.socketURL(st.eventSeq));
    st.socket = ws;
    ws.onmessage = (e) => {
      let ev;
      try { ev = JSON.parse(e.data); } catch (_) { return; }
      office.events++;
      if (ev.seq > st.eventSeq) st.eventSeq = ev.seq;
      enqueue(() => onEvent(ev));
    };
    ws.onclose = (e) => {
      if (st.socket !== ws) return;
      st.socket = null;
      st.hello = false;
      if (st.stopped) return;
      switch (e.code) {
        case 4002: session.end("signedOutElsewhere"); return;
        case 4001: st.stopped = true; setConn(""); showBanner("replaced"); return;
        case 1008: if (/too many/.test(e.reason)) { st.stopped = true; showBanner("tooManySockets"); return; } break;
      }
      setConn("reconnecting");
      const wait = Math.min(30000, 500 * Math.pow(2, st.retry++)) * (0.5 + Math.random() / 2);
      st.retryTimer = setTimeout(reconnect, wait);
    };
  }
  // reconnect first makes sure the access token is good (a refused
  // upgrade tells the page nothing): /v1/me refreshes it when it is not.
  async function reconnect() {
    if (st.stopped || !session.signedIn) return;
    try { await session.api("GET", "/v1/me"); } catch (e) {
      if (e.status === 0 || e.status >= 500) { st.retryTimer = setTimeout(reconnect, 3000); return; }
      return; // refused: session.end has said why
    }
    connect();
  }

  async function onEvent(ev) {
    const d = ev.data;
    switch (ev.type) {
      case "hello":
        office.hellos = (office.hellos || 0) + 1;
        st.retry = 0;
        st.hello = true;
        setConn("online");
        await resyncSoon();
        flushOutbox();
        if (st.approver) refreshSuper();
        return;
      case "chat.message": await applyLive(d); return;
      case "chat.read": onRead(d); return;
      case "chat.channel": await onChannel(d); return;
      case "chat.presence":
        see(d);
        renderSelf(); renderChannels(); renderConvHead(); renderSectionRows();
        return;
      case "telework.pending": case "telework.decided": case "telework.work": case "resync":
        if (st.approver) refreshSuper();
        return;
    }
  }

  // resync lists the channels again and pages every held one up to the
  // broker's end: after a reconnect nothing is missing, nothing doubled.
  async function resync() {
    const list = await session.api("GET", "/v1/chat/channels");
    const next = new Map();
    for (const ch of list.channels) {
      // The list names a group's members only when asked one by one:
      // keep what the page learnt of them.
      const prev = st.channels.get(ch.id);
      if (!ch.members && prev && prev.members) ch.members = prev.members;
      next.set(ch.id, ch);
    }
    st.channels = next;
    // IT may have changed the policy (the edit window, receipts) meanwhile.
    st.policy = await session.api("GET", "/v1/chat/policy");
    await lookSelf();
    await ensureNames(list.channels.flatMap((c) => c.members || []));
    for (const id of [...st.hist.keys()]) {
      if (!next.has(id)) { st.hist.delete(id); continue; }
      if (id !== st.open) await catchUp(id);
    }
    if (st.open && !next.has(st.open)) { st.open = null; stopEdit(); }
    // The open channel's first page, or its members, may have been
    // dropped with the line when it was opened.
    if (st.open) await loadOpen(st.open, false);
    renderAll();
  }

  // resyncSoon is resync, tried again while the socket stays up if a
  // request of it was dropped (the socket alone would not say so).
  async function resyncSoon() {
    try {
      await resync();
    } catch (e) {
      if (!(e instanceof session.ApiError && e.status === 0)) throw e;
      const ws = st.socket;
      setTimeout(() => { if (ws && st.socket === ws && st.hello) enqueue(resyncSoon); }, 3000);
    }
  }

  async function applyLive(m) {
    let ch = st.channels.get(m.channel);
    if (!ch) { await onChannel({ id: m.channel }); ch = st.channels.get(m.channel); if (!ch) return; }
    const h = held(m.channel);
    let fresh = true;
    if (h) {
      if (m.seq <= h.last) fresh = false;
      else if (m.seq > h.last + 1) await catchUp(m.channel);
      else applyEntry(h, m);
      await ensureNames([m.sender]);
    } else if (m.seq <= ch.last_seq) {
      fresh = false;
    }
    if (m.seq > ch.last_seq) ch.last_seq = m.seq;
    settle(m);
    if (fresh && m.kind === "message" && m.sender !== st.me.id) {
      if (viewing(m.channel)) await markRead(m.channel);
      else ch.unread++;
    }
    renderChannels();
    if (st.open === m.channel) renderConversation(true);
  }

  function onRead(r) {
    if (r.user === st.me.id) {
      const ch = st.channels.get(r.channel);
      if (ch && r.seq > ch.read_seq) {
        ch.read_seq = r.seq;
        const h = held(r.channel);
        ch.unread = h ? [...h.msgs.values()].filter((m) => m.seq > r.seq && m.sender !== st.me.id && !m.deleted).length : 0;
        renderChannels();
      }
    }
    const m = st.receipts.get(r.channel);
    if (m && (m.get(r.user) || 0) < r.seq) {
      m.set(r.user, r.seq);
      if (st.open === r.channel) renderConversation(false);
    }
  }

  async function onChannel(c) {
    let ch;
    try { ch = await session.api("GET", "/v1/chat/channels/" + encodeURIComponent(c.id)); } catch (e) { if (e.status === 404) return; throw e; }
    if (!st.channels.has(ch.id)) st.channels.set(ch.id, ch);
    else {
      // A group renamed or its members changed: keep what is held, take the rest.
      const have = st.channels.get(ch.id);
      have.name = ch.name;
      if (ch.members) have.members = ch.members;
    }
    await ensureNames(ch.members || []);
    renderChannels();
    renderConvHead();
    renderGroup();
  }

  // ---- sending -------------------------------------------------------------------

  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  }
  function sendTyped() {
    if (st.editing) { saveEdit(); return; }
    const text = $("input").value;
    if (!text.trim() || !st.open) return;
    const p = { key: newKey(), channel: st.open, text, reply_to: st.replyTo ? st.replyTo.seq : 0, quote: st.replyTo, state: "sending", err: "" };
    st.outbox.push(p);
    $("input").value = "";
    setReply(null);
    renderConversation(true);
    deliver(p);
  }
  // deliver sends one message under its key: however often it is retried,
  // the broker stores it once.
  async function deliver(p) {
    p.state = "sending"; p.err = "";
    try {
      const m = await session.api("POST", "/v1/chat/channels/" + encodeURIComponent(p.channel) + "/messages",
        { key: p.key, text: p.text, reply_to: p.reply_to || undefined });
      enqueue(() => applyLive(m));
    } catch (e) {
      if (e.status === 0 || e.status >= 500 || e.status === 429 || e.status === 401) {
        p.state = "waiting"; p.err = t("networkError");
        setTimeout(() => { if (st.outbox.includes(p) && p.state === "waiting") deliver(p); }, 5000);
      } else {
        p.state = "failed"; p.err = i18n.error(e.body);
      }
      if (st.open === p.channel) renderConversation(false);
    }
  }
  function flushOutbox() { for (const p of st.outbox) if (p.state === "waiting") deliver(p); }

  function setReply(m) {
    if (m && st.editing) stopEdit();
    st.replyTo = m ? { seq: m.seq, sender: m.sender, text: m.text } : null;
    $("replying").hidden = !m;
    if (m) $("replying-text").textContent = t("replyingTo", nameOf(m.sender), short(m.text));
    if (m) $("input").focus();
  }

  // ---- edit and delete ----------------------------------------------------------

  // editable: one's own stored message, not deleted, within IT's edit
  // window counted from the broker's time of it (the broker decides in
  // the end: a message past the window is refused with its reason).
  function editable(m) {
    const win = st.policy.edit_window_minutes || 0;
    const at = Date.parse(m.at);
    return m.sender === st.me.id && !m.deleted && m.seq > 0 && win > 0 && at > st.closedUpTo && session.now() < at + win * 60000;
  }

  // Editing uses the input: its text in it, a bar saying so, 保存 on the
  // button; Enter saves and Esc stops.
  function startEdit(m) {
    setReply(null);
    st.editing = { channel: st.open, seq: m.seq, text: m.text, busy: false };
    $("input").value = m.text;
    showCompose();
    renderConversation(false);
    const i = $("input");
    i.focus();
    i.setSelectionRange(i.value.length, i.value.length);
  }
  function stopEdit() {
    if (!st.editing) return;
    st.editing = null;
    $("input").value = "";
    showCompose();
    renderConversation(false);
  }
  function showCompose() {
    const e = st.editing;
    $("editing").hidden = !e;
    if (e) $("editing-text").textContent = t("editing", short(e.text));
    $("send").textContent = t(e ? "save" : "send");
    $("enter-hint").textContent = t(e ? "editHint" : "enterHint");
  }
  // saveEdit sends the edit with a fresh key; it waits in no outbox (a
  // failure says why and the text stays in the input to try again).
  async function saveEdit() {
    const e = st.editing;
    if (!e || e.busy) return;
    const text = $("input").value;
    if (text === e.text) { stopEdit(); return; }
    e.busy = true;
    $("send").disabled = true;
    try {
      const m = await session.api("PATCH", chanPath(e.channel) + "/messages/" + e.seq, { key: newKey(), text });
      if (st.editing === e) stopEdit();
      await enqueue(() => applyLive(m));
    } catch (x) {
      showSendError(x);
      if (x instanceof session.ApiError && x.code === "chat_edit_closed") await windowClosed(e.channel, e.seq);
    } finally {
      e.busy = false;
      $("send").disabled = false;
    }
  }
  // windowClosed: the broker says a message is past its edit window,
  // which the page thought open (IT shortened it, or this PC's clock is
  // off): that message and every older one are closed whatever the
  // clock says; take IT's policy again, stop editing, offer what is left.
  async function windowClosed(channel, seq) {
    const h = held(channel), m = h && h.msgs.get(seq);
    if (m) st.closedUpTo = Math.max(st.closedUpTo, Date.parse(m.at));
    try { st.policy = await session.api("GET", "/v1/chat/policy"); } catch (e) { report(e); }
    if (st.editing) { st.editing = null; showCompose(); }
    renderConversation(false);
  }
  function askDelete(m) {
    const id = st.open;
    if (st.editing && st.editing.seq === m.seq) stopEdit();
    confirmDlg(t("deleteTitle"), t("deleteConfirm"), t("delete"), async () => {
      let r;
      try {
        r = await session.api("DELETE", chanPath(id) + "/messages/" + m.seq);
      } catch (x) {
        if (x instanceof session.ApiError && x.code === "chat_edit_closed") await windowClosed(id, m.seq);
        throw x;
      }
      await enqueue(() => applyLive(r));
    });
  }
  // lastEditable is one's newest message that can still be edited (↑ in
  // an empty input edits it, as chat programs do).
  function lastEditable() {
    const h = st.open && held(st.open);
    if (!h) return null;
    const mine = [...h.msgs.values()].filter((m) => m.sender === st.me.id).sort((a, b) => b.seq - a.seq);
    return mine.length && editable(mine[0]) ? mine[0] : null;
  }

  // ---- rendering: chat ------------------------------------------------------------

  function sortedChannels() {
    const rank = (c) => c.kind === "department" ? 0 : (c.kind === "direct" && (c.members || []).length < 2 ? 2 : 1);
    return [...st.channels.values()].sort((a, b) => rank(a) - rank(b) || b.last_seq - a.last_seq || a.id.localeCompare(b.id));
  }
  function renderChannels() {
    if (!st.me) return;
    // The tab shows the unread count, for a page left in the background.
    let unread = 0;
    for (const c of st.channels.values()) if (!c.muted) unread += c.unread;
    document.title = (unread > 0 ? "(" + unread + ") " : "") + t("brand");
    const ul = $("channels");
    ul.replaceChildren();
    for (const ch of sortedChannels()) {
      const li = el("li");
      const b = el("button", "channel" + (ch.id === st.open ? " active" : "") + (ch.muted ? " muted" : ""));
      b.type = "button";
      b.dataset.id = ch.id;
      const other = otherOf(ch);
      if (other) b.append(el("span", "dot " + (st.presence.get(other) || "offline")));
      b.append(el("span", "name", channelName(ch)));
      if (ch.muted) b.append(el("span", "mute-mark", t("mutedMark")));
      else if (ch.unread > 0) b.append(el("span", "badge", String(ch.unread)));
      b.addEventListener("click", () => openChannel(ch.id));
      li.append(b);
      ul.append(li);
    }
  }

  function renderConvHead() {
    const ch = st.open && st.channels.get(st.open);
    $("conv-title").textContent = ch ? channelName(ch) : "";
    const other = ch && otherOf(ch);
    const state = other ? st.presence.get(other) : "";
    const status = other ? st.status.get(other) : "";
    $("conv-presence").textContent = presenceLabel(state) + (status ? " · " + status : "");
    $("conv-presence").dataset.state = state || "";
    $("conv-tools").hidden = !ch;
    if (!ch) return;
    $("mute").textContent = t(ch.muted ? "unmute" : "mute");
    $("mute").setAttribute("aria-pressed", ch.muted ? "true" : "false");
    const group = ch.kind === "group";
    $("members-open").hidden = ch.kind === "direct" || !ch.members;
    if (ch.members) $("members-open").textContent = t("membersN", ch.members.length);
    $("rename").hidden = !group;
    $("leave").hidden = !group;
  }

  // renderSelf is the user's own line: name, presence, status message.
  function renderSelf() {
    if (!st.me) return;
    const state = st.presence.get(st.me.id), status = st.status.get(st.me.id);
    const parts = [st.me.name || st.me.id];
    if (state) parts.push(presenceLabel(state));
    if (status) parts.push(status);
    $("self-line").textContent = parts.join(" · ");
    $("self-line").dataset.state = state || "";
  }
  async function lookSelf() {
    const l = await session.api("GET", "/v1/chat/presence?users=" + encodeURIComponent(st.me.id));
    for (const p of l.people) see(p);
    renderSelf();
  }

  function receiptOf(ch, m) {
    if (!st.policy.receipts || m.sender !== st.me.id) return "";
    const reads = st.receipts.get(ch.id);
    if (!reads) return "";
    if (ch.kind === "direct") {
      const other = otherOf(ch);
      return other && (reads.get(other) || 0) >= m.seq ? t("read") : "";
    }
    let n = 0;
    for (const [u, seq] of reads) if (u !== m.sender && seq >= m.seq) n++;
    return n > 0 ? t("readN", n) : "";
  }

  function messageItem(ch, m, pending) {
    const li = el("li", "msg" + (m.sender === st.me.id ? " mine" : "") + (pending ? " pending " + pending.state : ""));
    if (!pending) li.dataset.seq = String(m.seq);
    if (!pending && st.editing && st.editing.channel === ch.id && st.editing.seq === m.seq) li.classList.add("being-edited");
    const meta = el("div", "meta");
    meta.append(el("span", "sender", nameOf(m.sender)), el("span", "time", pending ? "" : clock(m.at)));
    li.append(meta);
    if (m.quote) {
      const q = el("blockquote", "quote");
      q.append(el("span", "qsender", nameOf(m.quote.sender)), el("span", "qtext", m.quote.text));
      li.append(q);
    }
    li.append(m.deleted ? el("div", "text deleted", t("deleted")) : el("div", "text", m.text));
    const foot = el("div", "foot");
    if (m.edited_at && !m.deleted) foot.append(el("span", "edited", t("edited")));
    if (pending) {
      foot.append(el("span", "state", pending.state === "failed" ? t("sendFailed") + ": " + pending.err : t(pending.state === "waiting" ? "waiting" : "sending")));
      if (pending.state === "failed") {
        const r = el("button", "link", t("retry")); r.type = "button"; r.addEventListener("click", () => deliver(pending));
        const c = el("button", "link", t("cancel")); c.type = "button";
        c.addEventListener("click", () => { st.outbox = st.outbox.filter((p) => p !== pending); renderConversation(false); });
        foot.append(r, c);
      }
    } else {
      const rc = receiptOf(ch, m);
      if (rc) foot.append(el("span", "receipt", rc));
      if (!m.deleted && m.sender !== "system") {
        const r = el("button", "link reply", t("reply")); r.type = "button";
        r.addEventListener("click", () => setReply(m));
        foot.append(r);
      }
      if (editable(m)) {
        const e = el("button", "link edit", t("edit")); e.type = "button";
        e.addEventListener("click", () => startEdit(m));
        const d = el("button", "link delete", t("delete")); d.type = "button";
        d.addEventListener("click", () => askDelete(m));
        foot.append(e, d);
      }
    }
    li.append(foot);
    return li;
  }

  function renderConversation(stick) {
    const ch = st.open && st.channels.get(st.open);
    renderConvHead();
    $("compose").hidden = !ch;
    $("empty").hidden = !!ch;
    const ol = $("messages");
    const box = $("scroll");
    const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    ol.replaceChildren();
    const h = ch && held(ch.id);
    $("older").hidden = !(h && h.more);
    if (!ch) return;
    // What is typed shows even before the channel's history has come
    // (its first page may have been dropped with the line).
    let day = "";
    const items = h ? [...h.msgs.values()].sort((a, b) => a.seq - b.seq) : [];
    for (const m of items) {
      const k = dayKey(m.at);
      if (k !== day) { day = k; ol.append(el("li", "day", dayLabel(m.at))); }
      ol.append(messageItem(ch, m, null));
    }
    for (const p of st.outbox.filter((x) => x.channel === ch.id)) {
      ol.append(messageItem(ch, { sender: st.me.id, text: p.text, quote: p.quote }, p));
    }
    if (stick || atEnd) box.scrollTop = box.scrollHeight;
  }

  // loadOpen brings the open channel up to date: its newest page when
  // nothing is held of it yet, else what came since; its members (read
  // again with members, else only when missing) and its receipts.
  async function loadOpen(id, members) {
    if (!held(id)) await loadNewest(id); else await catchUp(id);
    const ch = st.channels.get(id);
    if (ch && ch.kind !== "direct" && (members || !ch.members)) await loadMembers(id);
    await loadReceipts(id);
    await markRead(id);
  }

  async function openChannel(id) {
    if (st.open !== id) stopEdit();
    st.open = id;
    st.view = "chat";
    showView();
    $("results").hidden = true;
    $("send-error").textContent = "";
    setReply(null);
    renderChannels();
    renderConversation(true);
    await enqueue(async () => {
      if (st.open !== id) return;
      await loadOpen(id, true);
      renderChannels();
      renderConversation(true);
    });
    $("input").focus();
  }

  // ---- search and colleagues -----------------------------------------------------

  function marked(text, spans) {
    const chars = Array.from(text);
    const out = document.createDocumentFragment();
    let at = 0;
    for (const s of [...spans].sort((a, b) => a.start - b.start)) {
      if (s.start < at) continue;
      if (s.start > at) out.append(chars.slice(at, s.start).join(""));
      out.append(el("mark", "", chars.slice(s.start, s.end).join("")));
      at = s.end;
    }
    if (at < chars.length) out.append(chars.slice(at).join(""));
    return out;
  }
  async function search(q) {
    const r = await session.api("GET", "/v1/chat/search?q=" + encodeURIComponent(q));
    await ensureNames(r.hits.map((h) => h.message.sender));
    const ul = $("hits");
    ul.replaceChildren();
    $("results-title").textContent = (r.hits.length ? t("results", q, r.hits.length) : t("noResults", q)) + (r.partial ? t("resultsPartial") : "");
    for (const hit of r.hits) {
      const m = hit.message, ch = st.channels.get(m.channel);
      const li = el("li");
      const b = el("button", "hit"); b.type = "button";
      b.append(el("span", "meta", (ch ? channelName(ch) : "") + " · " + nameOf(m.sender) + " · " + dayLabel(m.at) + " " + clock(m.at)));
      const body = el("div", "text"); body.append(marked(m.text, hit.spans || []));
      b.append(body);
      b.addEventListener("click", () => openChannel(m.channel));
      li.append(b);
      ul.append(li);
    }
    $("results").hidden = false;
  }
  $("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = $("search").value.trim();
    if (q) search(q).catch(showSendError);
  });
  $("results-close").addEventListener("click", () => { $("results").hidden = true; });

  let peopleTimer = 0;
  $("people").addEventListener("input", () => {
    clearTimeout(peopleTimer);
    peopleTimer = setTimeout(() => lookup($("people").value.trim()).catch(showSendError), 250);
  });
  async function lookup(q) {
    const ul = $("people-results");
    if (!q) { ul.replaceChildren(); return; }
    const r = await session.api("GET", "/v1/chat/people?q=" + encodeURIComponent(q));
    if ($("people").value.trim() !== q) return;
    ul.replaceChildren();
    if (!r.people.length) { ul.append(el("li", "hint", t("noPeople"))); return; }
    for (const p of r.people) {
      if (p.id === st.me.id) continue;
      st.names.set(p.id, p.name || p.id);
      const li = el("li");
      const b = el("button", "person"); b.type = "button";
      b.dataset.id = p.id;
      b.append(el("span", "name", p.name || p.id), el("span", "dept", p.department || ""));
      b.addEventListener("click", () => direct(p.id).catch(showSendError));
      li.append(b);
      ul.append(li);
    }
  }
  async function direct(user) {
    const ch = await session.api("POST", "/v1/chat/direct", { user });
    if (!st.channels.has(ch.id)) st.channels.set(ch.id, ch);
    await ensureNames(ch.members || []);
    $("people").value = "";
    $("people-results").replaceChildren();
    await openChannel(ch.id);
  }

  function showSendError(e) {
    const msg = errText(e);
    $("send-error").textContent = msg;
    setTimeout(() => { if ($("send-error").textContent === msg) $("send-error").textContent = ""; }, 8000);
  }

  // The input: Enter sends, Shift+Enter is a new line, and Enter while a
  // Japanese input method is converting only confirms the conversion.
  // Esc stops editing or replying; ↑ in an empty input edits one's last
  // message while it can still be edited.
  $("input").addEventListener("keydown", (e) => {
    if (e.isComposing || e.keyCode === 229) return;
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      sendTyped();
    } else if (e.key === "Escape" && (st.editing || st.replyTo)) {
      e.preventDefault();
      if (st.editing) stopEdit(); else setReply(null);
    } else if (e.key === "ArrowUp" && !st.editing && $("input").value === "") {
      const m = lastEditable();
      if (m) { e.preventDefault(); startEdit(m); }
    }
  });
  $("editing-cancel").addEventListener("click", () => { stopEdit(); $("input").focus(); });
  $("send").addEventListener("click", sendTyped);
  $("replying-cancel").addEventListener("click", () => setReply(null));
  $("older").addEventListener("click", () => enqueue(loadOlder));

  // ---- dialogs: groups, members, mute, status ---------------------------------------

  // A dialog is a native <dialog>: modal, Esc closes it, focus stays in
  // it. Its form is sent by the page (fetch), never by the browser.
  function openDialog(id, focus) {
    const d = $(id);
    for (const p of d.querySelectorAll(".error")) p.textContent = "";
    if (!d.open) d.showModal();
    if (focus) $(focus).focus();
  }
  const closeDialog = (id) => { if ($(id).open) $(id).close(); };
  const DIALOGS = ["dlg-status", "dlg-group", "dlg-rename", "dlg-confirm"];

  // busy runs a dialog's call with its buttons disabled; a refusal is
  // shown in the dialog in the broker's words, and the dialog stays.
  async function busy(dlg, errId, fn) {
    const buttons = [...$(dlg).querySelectorAll("button")];
    for (const b of buttons) b.disabled = true;
    $(errId).textContent = "";
    try {
      await fn();
    } catch (e) {
      $(errId).textContent = errText(e);
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }

  let confirmFn = null;
  function confirmDlg(title, text, okLabel, fn) {
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    $("confirm-ok").textContent = okLabel;
    confirmFn = fn;
    openDialog("dlg-confirm", "confirm-cancel");
  }
  $("confirm-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const fn = confirmFn;
    if (!fn) return;
    busy("dlg-confirm", "confirm-error", async () => { await fn(); confirmFn = null; closeDialog("dlg-confirm"); });
  });
  $("confirm-cancel").addEventListener("click", () => closeDialog("dlg-confirm"));

  // loadMembers reads a group's or department's members (the list of
  // channels does not carry them) and their presence.
  async function loadMembers(id) {
    const v = await session.api("GET", chanPath(id));
    const ch = st.channels.get(id);
    if (!ch) return;
    ch.members = v.members || [];
    ch.name = v.name;
    await ensureNames(ch.members);
    renderConvHead();
  }
  function current() { return st.open && st.channels.get(st.open); }

  $("mute").addEventListener("click", () => {
    const ch = current();
    if (!ch) return;
    const want = !ch.muted;
    session.api("PUT", chanPath(ch.id) + "/mute", { muted: want }).then(() => {
      ch.muted = want;
      renderChannels();
      renderConvHead();
    }).catch(showSendError);
  });

  $("rename").addEventListener("click", () => {
    const ch = current();
    if (!ch || ch.kind !== "group") return;
    $("rename-name").value = ch.name || "";
    openDialog("dlg-rename", "rename-name");
    $("rename-name").select();
  });
  $("rename-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const ch = current();
    const name = $("rename-name").value.trim();
    if (!ch) return;
    if (!name) { $("rename-error").textContent = t("groupNeedName"); return; }
    busy("dlg-rename", "rename-error", async () => {
      const v = await session.api("PATCH", chanPath(ch.id), { name });
      ch.name = v.name;
      closeDialog("dlg-rename");
      renderChannels();
      renderConvHead();
    });
  });
  $("rename-cancel").addEventListener("click", () => closeDialog("dlg-rename"));

  $("leave").addEventListener("click", () => {
    const ch = current();
    if (!ch || ch.kind !== "group") return;
    confirmDlg(t("leave"), t("leaveConfirm", channelName(ch)), t("leave"), async () => {
      await session.api("DELETE", chanPath(ch.id) + "/members/me");
      // The group and what was held of it go.
      st.channels.delete(ch.id);
      st.hist.delete(ch.id);
      st.receipts.delete(ch.id);
      st.outbox = st.outbox.filter((p) => p.channel !== ch.id);
      if (st.open === ch.id) { st.open = null; stopEdit(); setReply(null); }
      renderAll();
    });
  });

  // The group dialog: "create" (a name and colleagues), "add" (a
  // group's members, and colleagues to add), "department" (its members,
  // who follow the roster: nothing to add).
  let grp = null;
  function openGroup(mode) {
    const ch = current();
    if (mode !== "create" && !ch) return;
    grp = { mode, channel: mode === "create" ? "" : ch.id, picked: new Map(), added: "" };
    $("group-title").textContent = mode === "create" ? t("newGroup") : t("membersTitle", channelName(ch));
    $("group-name-row").hidden = mode !== "create";
    $("group-name").value = "";
    $("group-find-row").hidden = mode === "department";
    $("group-find").value = "";
    $("group-dept").hidden = mode !== "department";
    $("group-save").hidden = mode === "department";
    $("group-save").textContent = t(mode === "create" ? "groupCreate" : "add");
    $("group-cancel").textContent = t(mode === "department" ? "close" : "cancel");
    $("group-results").replaceChildren();
    renderGroup();
    openDialog("dlg-group", mode === "create" ? "group-name" : mode === "add" ? "group-find" : "group-cancel");
    if (mode !== "create") {
      // Presence of members outside one's section has no frames: read now.
      const ids = (ch.members || []).filter((u) => u !== st.me.id);
      lookPresence(ids).then(renderGroup).catch(report);
    }
  }
  async function lookPresence(ids) {
    for (let i = 0; i < ids.length; i += 50) {
      const l = await session.api("GET", "/v1/chat/presence?users=" + encodeURIComponent(ids.slice(i, i + 50).join(",")));
      for (const p of l.people) see(p);
    }
  }
  function renderGroup() {
    if (!grp) return;
    const ch = grp.channel && st.channels.get(grp.channel);
    const ul = $("group-members");
    ul.replaceChildren();
    ul.hidden = grp.mode === "create";
    if (ch) {
      const ms = [...(ch.members || [])].sort((a, b) => nameOf(a).localeCompare(nameOf(b), "ja"));
      for (const u of ms) {
        const li = el("li", "member");
        li.dataset.id = u;
        const state = st.presence.get(u) || "";
        li.append(el("span", "dot " + (state || "offline")), el("span", "name", nameOf(u) + (u === st.me.id ? "（" + t("you") + "）" : "")));
        if (state) li.append(el("span", "state", presenceLabel(state)));
        if (st.status.get(u)) li.append(el("span", "status", st.status.get(u)));
        ul.append(li);
      }
    }
    const names = [...grp.picked.values()];
    $("group-chosen").hidden = grp.mode === "department";
    $("group-chosen").textContent = names.length ? t(grp.mode === "create" ? "groupChosen" : "addChosen", names.join("、"))
      : grp.added ? t("added", grp.added) : t("groupNoneChosen");
  }
  function showFound(people) {
    const ch = grp.channel && st.channels.get(grp.channel);
    const ul = $("group-results");
    ul.replaceChildren();
    const list = people.filter((p) => p.id !== st.me.id);
    if (!list.length) { ul.append(el("li", "hint", t("noPeople"))); return; }
    for (const p of list) {
      st.names.set(p.id, p.name || p.id);
      const li = el("li");
      const label = el("label", "pick");
      const box = el("input");
      box.type = "checkbox";
      box.dataset.id = p.id;
      const inside = !!(ch && (ch.members || []).includes(p.id));
      box.checked = inside || grp.picked.has(p.id);
      box.disabled = inside;
      box.addEventListener("change", () => {
        if (box.checked) grp.picked.set(p.id, p.name || p.id); else grp.picked.delete(p.id);
        grp.added = "";
        renderGroup();
      });
      label.append(box, el("span", "name", p.name || p.id), el("span", "dept", p.department || ""));
      if (inside) label.append(el("span", "tag", t("inGroup")));
      li.append(label);
      ul.append(li);
    }
  }
  let groupTimer = 0;
  async function groupLookup() {
    clearTimeout(groupTimer);
    const q = $("group-find").value.trim();
    if (!grp) return;
    if (!q) { $("group-results").replaceChildren(); return; }
    try {
      const r = await session.api("GET", "/v1/chat/people?q=" + encodeURIComponent(q));
      if (grp && $("group-find").value.trim() === q) showFound(r.people);
    } catch (e) {
      $("group-error").textContent = errText(e);
    }
  }
  $("group-find").addEventListener("input", () => { clearTimeout(groupTimer); groupTimer = setTimeout(groupLookup, 250); });
  // Enter in the search looks up at once; it does not create the group.
  $("group-find").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.isComposing && e.keyCode !== 229) { e.preventDefault(); groupLookup(); }
  });
  $("group-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const g = grp;
    if (!g || g.mode === "department") return;
    const members = [...g.picked.keys()];
    const name = $("group-name").value.trim();
    if (g.mode === "create" && !name) { $("group-error").textContent = t("groupNeedName"); $("group-name").focus(); return; }
    if (!members.length) { $("group-error").textContent = t("groupNeedMembers"); $("group-find").focus(); return; }
    busy("dlg-group", "group-error", async () => {
      if (g.mode === "create") {
        const ch = await session.api("POST", "/v1/chat/channels", { name, members });
        if (!st.channels.has(ch.id)) st.channels.set(ch.id, ch);
        else st.channels.get(ch.id).members = ch.members;
        await ensureNames(ch.members || []);
        closeDialog("dlg-group");
        await openChannel(ch.id);
        return;
      }
      const v = await session.api("POST", chanPath(g.channel) + "/members", { members });
      const ch = st.channels.get(g.channel);
      if (ch) ch.members = v.members || [];
      await lookPresence([...g.picked.keys()]);
      g.added = [...g.picked.values()].join("、");
      g.picked.clear();
      $("group-find").value = "";
      $("group-results").replaceChildren();
      renderGroup();
      renderConvHead();
      $("group-find").focus();
    });
  });
  $("group-cancel").addEventListener("click", () => closeDialog("dlg-group"));
  $("dlg-group").addEventListener("close", () => { grp = null; });
  $("group-new").addEventListener("click", () => openGroup("create"));
  $("members-open").addEventListener("click", () => {
    const ch = current();
    if (ch) openGroup(ch.kind === "group" ? "add" : "department");
  });

  // One's own status: here or away (離席中, kept by the broker while one
  // is connected, until changed here or by the app), and a message the
  // section sees.
  $("status-open").addEventListener("click", () => {
    const away = st.presence.get(st.me.id) === "away";
    $("status-here").checked = !away;
    $("status-away").checked = away;
    $("status-text").value = st.status.get(st.me.id) || "";
    openDialog("dlg-status", "status-text");
  });
  function saveStatus(message) {
    busy("dlg-status", "status-error", async () => {
      const p = await session.api("PUT", "/v1/chat/status", { message, away: $("status-away").checked });
      see(p);
      closeDialog("dlg-status");
      renderSelf();
      renderSectionRows();
    });
  }
  $("status-form").addEventListener("submit", (e) => { e.preventDefault(); saveStatus($("status-text").value.trim()); });
  $("status-clear").addEventListener("click", () => { $("status-text").value = ""; saveStatus(""); });
  $("status-cancel").addEventListener("click", () => closeDialog("dlg-status"));

  // ---- the supervisor's view ---------------------------------------------------------

  function showView() {
    $("chat").hidden = st.view !== "chat";
    $("super").hidden = st.view !== "super";
    $("tab-chat").classList.toggle("on", st.view === "chat");
    $("tab-super").classList.toggle("on", st.view === "super");
  }
  $("tab-chat").addEventListener("click", () => { st.view = "chat"; showView(); if (st.open) enqueue(() => markRead(st.open)); });
  $("tab-super").addEventListener("click", () => { st.view = "super"; showView(); refreshSuper(); });

  let superBusy = null;
  function refreshSuper() {
    if (!st.approver) return Promise.resolve();
    if (superBusy) return superBusy;
    superBusy = (async () => {
      try {
        const sec = await session.api("GET", "/v1/telework/section");
        const pres = await session.api("GET", "/v1/chat/presence?department=" + encodeURIComponent(sec.department));
        for (const p of pres.people) see(p);
        await ensureNames(sec.pending.map((r) => r.user_id));
        st.section = sec;
        $("super-error").textContent = "";
        renderSuper();
      } catch (e) {
        $("super-error").textContent = e instanceof session.ApiError ? i18n.error(e.body) : String(e);
      } finally { superBusy = null; }
    })();
    return superBusy;
  }

  function minutes(n) { return t("hm", Math.floor(n / 60), n % 60); }
  function renderSectionRows() {
    const sec = st.section;
    if (!sec) return;
    const tb = $("section-rows");
    tb.replaceChildren();
    for (const wd of sec.staff) {
      const tr = el("tr");
      tr.dataset.user = wd.user_id;
      const state = st.presence.get(wd.user_id) || "offline";
      const stateCell = el("td", "state"); stateCell.append(el("span", "dot " + state), el("span", "", presenceLabel(state)));
      if (st.status.get(wd.user_id)) stateCell.append(el("span", "status", " " + st.status.get(wd.user_id)));
      const planned = wd.planned ? t(wd.half ? "planned_" + wd.half : "planned_full") : t("none");
      const worked = wd.start && !wd.start.startsWith("0001-");
      tr.append(
        el("td", "name", wd.user_name || nameOf(wd.user_id)),
        stateCell,
        el("td", "", planned),
        el("td", "", wd.connected ? t("connected") : t("none")),
        el("td", "", clock(wd.start)),
        el("td", "", wd.connected ? t("none") : clock(wd.end)),
        el("td", "", wd.place ? t("place_" + wd.place) : t("none")),
        el("td", "", worked ? minutes(wd.work_minutes) : t("none")),
        el("td", "flags", (wd.flags || []).map((f) => t("flag_" + f)).join("・")),
      );
      tb.append(tr);
    }
  }
  function requestDays(r) {
    if (r.kind === "period") return t("fiscalYear", r.fiscal_year);
    const days = r.dates && r.dates.length ? r.dates : [r.from];
    return days.map((d) => dayLabel(d + "T12:00:00+09:00")).join("、");
  }
  function renderSuper() {
    const sec = st.section;
    if (!sec) return;
    $("super-date").textContent = dayLabel(sec.date + "T12:00:00+09:00");
    $("super-dept").textContent = sec.department;
    renderSectionRows();
    const ul = $("pending");
    // The view is drawn again on every presence or telework change: a
    // comment being typed (and the caret in it) must survive that.
    const drafts = st.commentDrafts || (st.commentDrafts = new Map());
    const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest("#pending .request");
    const focusID = focused ? focused.dataset.id : "";
    ul.replaceChildren();
    $("pending-none").hidden = sec.pending.length > 0;
    for (const id of [...drafts.keys()]) if (!sec.pending.some((r) => r.id === id)) drafts.delete(id);
    for (const r of sec.pending) {
      const li = el("li", "request");
      li.dataset.id = r.id;
      const head = el("div", "req-head");
      head.append(el("span", "name", r.user_name || nameOf(r.user_id)), el("span", "days", requestDays(r)));
      if (r.half) head.append(el("span", "tag", t("planned_" + r.half)));
      head.append(el("span", "tag", t("reason_" + r.reason)));
      if (r.same_day) head.append(el("span", "tag urgent", t("sameDay")));
      li.append(head);
      if (r.note) li.append(el("p", "note", r.note));
      const c = el("textarea", "comment"); c.maxLength = 500; c.rows = 2; c.placeholder = t("comment");
      c.value = drafts.get(r.id) || "";
      c.addEventListener("input", () => drafts.set(r.id, c.value));
      const ok = el("button", "approve", t("approve")); ok.type = "button";
      const no = el("button", "decline", t("decline")); no.type = "button";
      const msg = el("span", "req-msg");
      const decide = async (approve) => {
        ok.disabled = no.disabled = true;
        try {
          await session.api("POST", "/v1/telework/requests/" + encodeURIComponent(r.id) + "/decision", { approve, comment: c.value.trim() || undefined });
          msg.textContent = t(approve ? "approved" : "declined");
          drafts.delete(r.id);
          await refreshSuper();
        } catch (e) {
          msg.textContent = e instanceof session.ApiError ? i18n.error(e.body) : String(e);
          ok.disabled = no.disabled = false;
        }
      };
      ok.addEventListener("click", () => decide(true));
      no.addEventListener("click", () => decide(false));
      const row = el("div", "req-actions"); row.append(c, ok, no, msg);
      li.append(row);
      ul.append(li);
      if (r.id === focusID) { const end = c.value.length; c.focus(); c.setSelectionRange(end, end); }
    }
  }

  // ---- sign-in, setup, start and end ----------------------------------------------------

  function show(id) {
    for (const s of ["signin", "setup-totp", "setup-password", "app"]) $(s).hidden = s !== id;
    const inApp = id === "app";
    $("tabs").hidden = !inApp;
    $("signout").hidden = !inApp;
  }
  function showBanner(key) { $("send-error").textContent = t(key); setConn(""); }

  function setupStage(resp) {
    if (resp.stage === "enroll_totp") {
      $("totp-secret").textContent = resp.enrollment ? resp.enrollment.secret : "";
      show("setup-totp");
      $("totp-code").focus();
    } else if (resp.stage === "change_password") {
      $("pw-rules").textContent = resp.password_rules || "";
      show("setup-password");
      $("pw-old").focus();
    } else {
      start();
    }
  }

  $("signin-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const btn = $("signin-button");
    const err = $("signin-error");
    err.textContent = "";
    btn.disabled = true;
    btn.textContent = t("signingIn");
    try {
      const resp = await session.login($("staff-id").value.trim().toLowerCase(), $("password").value, $("otp").value.trim());
      $("password").value = "";
      $("otp").value = "";
      setupStage(resp);
    } catch (x) {
      $("otp").value = "";
      if (x && x.message === "noCrypto") err.textContent = t("noCrypto");
      else if (x instanceof session.ApiError) err.textContent = i18n.error(x.body);
      else { err.textContent = String(x); report(x); }
    } finally {
      btn.disabled = false;
      btn.textContent = t("signIn");
    }
  });
  $("totp-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try { setupStage(await session.finishSetup("/v1/me/totp", { code: $("totp-code").value.trim() })); }
    catch (x) { $("totp-error").textContent = x instanceof session.ApiError ? i18n.error(x.body) : String(x); }
  });
  $("pw-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const resp = await session.finishSetup("/v1/me/password", { old_password: $("pw-old").value, new_password: $("pw-new").value });
      $("pw-old").value = ""; $("pw-new").value = "";
      setupStage(resp);
    } catch (x) { $("pw-error").textContent = x instanceof session.ApiError ? i18n.error(x.body) : String(x); }
  });

  async function start() {
    st = fresh();
    st.me = session.user;
    st.names.set(st.me.id, st.me.name || st.me.id);
    $("me").textContent = (st.me.name || st.me.id) + (st.me.department ? "（" + st.me.department + "）" : "");
    show("app");
    showView();
    renderAll();
    try { st.policy = await session.api("GET", "/v1/chat/policy"); } catch (e) { report(e); }
    // An approver of the section (a supervisor, one IT named, a stand-in
    // today) gets the section's view; for anyone else the broker refuses.
    try {
      st.section = await session.api("GET", "/v1/telework/section");
      st.approver = true;
      $("tab-super").hidden = false;
    } catch (e) {
      if (e.status === 0 || e.status >= 500) report(e);
    }
    connect();
    clearInterval(st.superTimer);
    st.superTimer = setInterval(() => { if (st.view === "super") refreshSuper(); }, 30000);
  }

  function stop() {
    st.stopped = true;
    clearTimeout(st.retryTimer);
    clearInterval(st.superTimer);
    if (st.socket) { const ws = st.socket; st.socket = null; try { ws.close(1000); } catch (_) { /* gone */ } }
    for (const d of DIALOGS) closeDialog(d);
    // Nothing of the chat outlives the sign-in.
    st = fresh();
    for (const id of ["channels", "messages", "hits", "people-results", "section-rows", "pending", "group-members", "group-results"]) $(id).replaceChildren();
    $("me").textContent = "";
    $("self-line").textContent = "";
    $("input").value = "";
    document.title = t("brand");
    $("tab-super").hidden = true;
    setConn("");
  }
  session.onEnded((reason) => {
    stop();
    show("signin");
    $("signin-error").textContent = reason ? t(reason) : "";
  });
  $("signout").addEventListener("click", async () => { stop(); await session.signOut(); show("signin"); $("staff-id").focus(); });
  window.addEventListener("pagehide", () => session.leave());
  // A page brought back from the browser's back-forward cache was signed
  // out as it left: show the sign-in, not a stale conversation.
  window.addEventListener("pageshow", (e) => {
    if (e.persisted && !session.signedIn) { stop(); show("signin"); }
  });

  function renderAll() {
    if (!st.me) return;
    renderSelf();
    renderChannels();
    renderConversation(false);
    renderSuper();
    showCompose();
    renderGroup();
    if (st.hello) setConn("online");
    if (st.replyTo) setReply(st.replyTo);
  }

  words();
  show("signin");
  $("staff-id").focus();
})();
