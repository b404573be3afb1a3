// The meeting page: one RTCPeerConnection with the broker, which sends
// every offer; this page answers, publishes its camera and mic, and
// shows a tile per participant. Nothing here records anything.
"use strict";

const texts = {
  ja: {
    app: "在宅 会議", norecord: "この会議は録画・録音されません。", intro: "カメラとマイクを使って会議に参加します。",
    join: "参加する", micOn: "マイク オン", micOff: "マイク オフ", camOn: "カメラ オン", camOff: "カメラ オフ",
    leave: "退出", you: "（あなた）", joined: "{name} さんが参加しました。", left: "{name} さんが退出しました。",
    youLeft: "会議から退出しました。このページは閉じてかまいません。", lang: "English",
    refused: "この会議リンクは期限切れか、すでに使用されています。アプリから会議を開き直してください。",
    noToken: "会議リンクが不完全です。アプリから会議を開き直してください。",
    denied: "カメラまたはマイクの使用が許可されていません。ブラウザの設定で許可してから再読み込みしてください。",
    busy: "カメラまたはマイクが他のアプリで使用中です。そのアプリを閉じてから再読み込みしてください。",
    nodevice: "カメラまたはマイクが見つかりません。映像・音声なしで参加します。",
    blocked: "映像と音声をつなげません。ネットワークがブローカーへの通信を止めている可能性があります。情報政策課に連絡してください。",
    lost: "ブローカーとの接続が切れました。アプリから会議を開き直してください。",
    micMuted: "マイク オフ", camMuted: "カメラ オフ",
    host: "主催者", askMute: "ミュートを依頼", remove: "退出させる", lock: "会議をロック", unlock: "ロックを解除",
    endAll: "全員の会議を終了", endConfirm: "全員の会議を終了しますか？",
    mutedBy: "主催者（{name} さん）の依頼でマイクをオフにしました。", locked: "会議がロックされました。新しい参加者は入れません。",
    unlocked: "会議のロックが解除されました。", ended: "主催者が会議を終了しました。このページは閉じてかまいません。",
    chat: "チャット", chatSend: "送信", chatHint: "メッセージ（Enterで送信）", chatNote: "会議中のチャットはどこにも保存されません。",
    audioOnly: "音声のみ", audioOnlyOn: "音声のみで受信中です（映像は届きません）。回線が弱いときにお使いください。", audioOnlyOff: "映像の受信を再開しました。",
  },
  en: {
    app: "Zaitaku meeting", norecord: "This meeting is not recorded.", intro: "Join the meeting with your camera and mic.",
    join: "Join", micOn: "Mic on", micOff: "Mic off", camOn: "Camera on", camOff: "Camera off",
    leave: "Leave", you: " (you)", joined: "{name} joined.", left: "{name} left.",
    youLeft: "You left the meeting. You may close this page.", lang: "日本語",
    refused: "This meeting link has expired or was already used. Open the meeting again from the app.",
    noToken: "The meeting link is incomplete. Open the meeting again from the app.",
    denied: "The browser may not use the camera or mic. Allow them in the browser's settings, then reload.",
    busy: "The camera or mic is in use by another application. Close it, then reload.",
    nodevice: "No camera or mic found. Joining without them.",
    blocked: "Video and sound cannot get through: the network may block the connection to the broker. Contact IT.",
    lost: "The connection to the broker was lost. Open the meeting again from the app.",
    micMuted: "Mic off", camMuted: "Camera off",
    host: "Host", askMute: "Ask to mute", remove: "Remove", lock: "Lock meeting", unlock: "Unlock",
    endAll: "End for all", endConfirm: "End the meeting for everyone?",
    mutedBy: "Your mic was turned off at the host's ({name}) request.", locked: "The meeting is locked: no one new can join.",
    unlocked: "The meeting is unlocked.", ended: "The host ended the meeting. You may close this page.",
    chat: "Chat", chatSend: "Send", chatHint: "Message (Enter sends)", chatNote: "In-meeting chat is kept nowhere.",
    audioOnly: "Audio only", audioOnlyOn: "Receiving sound only (no video): for a weak line.", audioOnlyOff: "Receiving video again.",
  },
};

const params = new URLSearchParams(location.search);
// Japanese unless asked otherwise (?lang=en or the button): the staff
// are Japanese, their browsers' language is not always set to it.
let lang = params.get("lang") === "en" ? "en" : "ja";
if (!texts[lang]) lang = "ja";
const t = (k, vars) => (texts[lang][k] || k).replace(/\{(\w+)\}/g, (_, v) => (vars || {})[v] || "");
const $ = (id) => document.getElementById(id);

const roomID = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
// The token travels in the fragment, which never leaves the browser:
// not in the broker's request log, not in a Referer. Once read, it goes
// from the address bar too; it is good for one connection anyway.
let token = new URLSearchParams(location.hash.slice(1)).get("join") || "";
if (location.hash) history.replaceState(null, "", location.pathname + location.search);

const state = { self: null, participants: new Map(), audio: true, video: true, welcomed: false, left: false, locked: false, audioOnly: false, speaker: "" };
let ws = null, pc = null, local = null;
const early = []; // the broker's candidates that came before a description

function applyTexts() {
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  $("lang").textContent = t("lang");
  $("mic").textContent = t(state.audio ? "micOn" : "micOff");
  $("cam").textContent = t(state.video ? "camOn" : "camOff");
  $("lock").textContent = t(state.locked ? "unlock" : "lock");
  $("chatInput").placeholder = t("chatHint");
  $("audioOnly").textContent = t("audioOnly");
  for (const p of state.participants.values()) renderTile(p);
  window.lobby.applyTexts();
  window.devices.applyTexts();
}

const isHost = () => !!(state.self && state.self.host);

function notice(msg) { $("notice").textContent = msg; }
function error(msg) { $("error").textContent = msg; }

function tileFor(id) {
  let el = document.querySelector(`.tile[data-id="${CSS.escape(id)}"]`);
  if (!el) {
    el = document.createElement("div");
    el.className = "tile";
    el.dataset.id = id;
    // The speaker may have been named before their tile came.
    el.classList.toggle("speaking", state.speaker === id);
    const v = document.createElement("video");
    v.autoplay = true; v.playsInline = true;
    const n = document.createElement("span"); n.className = "name";
    const o = document.createElement("span"); o.className = "off";
    const h = document.createElement("div"); h.className = "hostctl";
    for (const [k, action] of [["askMute", "mute"], ["remove", "remove"]]) {
      const btn = document.createElement("button");
      btn.type = "button"; btn.dataset.action = action; btn.dataset.k = k;
      btn.onclick = () => send({ type: "host", action, target: id });
      h.append(btn);
    }
    el.append(v, n, o, h);
    $("tiles").append(el);
  }
  return el;
}

function renderTile(p) {
  const el = tileFor(p.id);
  const self = state.self && p.id === state.self.id;
  el.classList.toggle("self", !!self);
  el.classList.toggle("novideo", !p.video);
  el.querySelector(".name").textContent = p.name + (p.host ? "（" + t("host") + "）" : "") + (self ? t("you") : "");
  el.classList.toggle("guest", !!p.guest);
  let badge = el.querySelector(".badge");
  if (p.guest && !badge) { badge = document.createElement("span"); badge.className = "badge"; el.querySelector(".name").after(badge); }
  if (badge) { badge.textContent = window.lobby.text("guest"); badge.hidden = !p.guest; }
  const h = el.querySelector(".hostctl");
  h.hidden = !isHost() || self;
  h.querySelectorAll("button").forEach((b) => { b.textContent = t(b.dataset.k); });
  const off = [];
  if (!p.audio) off.push(t("micMuted"));
  if (!p.video) off.push(t("camMuted"));
  const o = el.querySelector(".off");
  o.textContent = off.join(" / ");
  o.hidden = off.length === 0;
}

function send(m) { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m)); }

async function getMedia() {
  try {
    return await navigator.mediaDevices.getUserMedia(window.devices.constraints());
  } catch (e) {
    if (e.name === "NotAllowedError") error(t("denied"));
    else if (e.name === "NotReadableError" || e.name === "AbortError") error(t("busy"));
    else error(t("nodevice"));
    try { return await navigator.mediaDevices.getUserMedia({ audio: true }); } catch (_) { return null; }
  }
}

async function join() {
  $("join").disabled = true;
  if (!token && !window.lobby.guest) { error(t("noToken")); return; }
  local = await getMedia();
  window.meet.local = local;
  // A guest waits in the lobby for the host, then joins like anyone.
  if (!token) { try { token = await window.lobby.wait(); } catch (_) { if (local) for (const tr of local.getTracks()) tr.stop(); return; } }
  state.audio = !!(local && local.getAudioTracks().length);
  state.video = !!(local && local.getVideoTracks().length);
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  ws = new WebSocket(`${proto}//${location.host}/v1/meet/rooms/${encodeURIComponent(roomID)}/signal?join=${encodeURIComponent(token)}`);
  // One message at a time, in order: a candidate must not overtake the
  // offer it belongs to.
  let queue = Promise.resolve();
  ws.onmessage = (e) => {
    queue = queue.then(() => onSignal(JSON.parse(e.data))).catch((err) => console.error("signal", err));
  };
  ws.onclose = () => {
    if (state.left || state.refusal) return;
    error(state.welcomed ? t("lost") : t("refused"));
  };
}

// Publishing and subscribing. The page offers once, first, what it
// publishes: the mic, and the camera in three simulcast layers (q, h, f:
// a quarter, half and full resolution), which a browser sends only when
// it makes the offer; the broker answers, and from then on makes every
// offer (the others' tracks) for the page to answer.
const layers = [
  { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150000 },
  { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500000 },
  { rid: "f", scaleResolutionDownBy: 1, maxBitrate: 1500000 },
];

async function publish() {
  const tracks = local ? local.getTracks() : [];
  if (!tracks.length) { send({ type: "ready" }); return; }
  for (const tr of tracks) {
    const init = { direction: "sendonly", streams: [local] };
    if (tr.kind === "video") init.sendEncodings = layers.map((l) => ({ ...l }));
    pc.addTransceiver(tr, init);
  }
  await pc.setLocalDescription(await pc.createOffer());
  send({ type: "offer", sdp: pc.localDescription.sdp });
}

// The broker sends each subscriber the layer its tile needs: the page
// tells it the size each publisher's video is drawn at, again whenever a
// tile changes size (a participant comes or goes, the window is resized).
const tileSizes = new Map();
let viewTimer = 0;
const tileObserver = new ResizeObserver((entries) => {
  for (const e of entries) {
    const id = e.target.closest(".tile").dataset.id;
    tileSizes.set(id, { width: Math.round(e.contentRect.width), height: Math.round(e.contentRect.height) });
  }
  clearTimeout(viewTimer);
  viewTimer = setTimeout(sendViews, 200);
});

function watchTile(id) { tileObserver.observe(tileFor(id).querySelector("video")); }

function sendViews() {
  const views = [];
  for (const [id, size] of tileSizes) {
    if (!state.participants.has(id) || (state.self && id === state.self.id)) continue;
    const v = { participant: id, ...size };
    if (window.meet.layers[id]) v.layer = window.meet.layers[id];
    views.push(v);
  }
  send({ type: "view", views });
}

// Audio only, for a weak home line: the broker stops sending video.
function toggleAudioOnly() {
  state.audioOnly = !state.audioOnly;
  $("audioOnly").setAttribute("aria-pressed", String(state.audioOnly));
  document.body.classList.toggle("audioonly", state.audioOnly);
  send({ type: "receive", video: !state.audioOnly });
  notice(t(state.audioOnly ? "audioOnlyOn" : "audioOnlyOff"));
}

// The broker names the dominant speaker; their tile is highlighted.
function showSpeaker(id) {
  state.speaker = id;
  document.querySelectorAll(".tile").forEach((el) => el.classList.toggle("speaking", el.dataset.id === id));
}

// connect makes the peer connection once the broker has said where TURN
// is (welcome); the broker's first offer comes after that.
function connect(iceServers) {
  pc = new RTCPeerConnection({ iceServers: iceServers || [] });
  window.meet.pc = pc;
  pc.onicecandidate = (e) => { if (e.candidate) send({ type: "candidate", candidate: e.candidate.toJSON() }); };
  pc.ontrack = (e) => {
    const stream = e.streams[0];
    if (!stream) return;
    // A shared screen comes as "<participant>.screen", beside the camera.
    if (stream.id.endsWith(".screen")) { window.devices.showScreen(stream.id.slice(0, -".screen".length), stream); return; }
    const v = tileFor(stream.id).querySelector("video");
    if (v.srcObject !== stream) v.srcObject = stream;
    watchTile(stream.id);
  };
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === "failed" && !state.left) error(t("blocked"));
  };
}

async function onSignal(m) {
  switch (m.type) {
    case "welcome": {
      state.welcomed = true;
      connect(m.ice_servers);
      state.self = m.participant;
      $("lobby").hidden = true; $("room").hidden = false; $("controls").hidden = false;
      if (m.room && m.room.title) $("title").textContent = m.room.title;
      state.locked = !!(m.room && m.room.locked);
      $("hostbar").hidden = !m.participant.host;
      if (m.participant.host) window.lobby.openDoor();
      $("chat").hidden = false;
      applyTexts();
      const me = { ...m.participant, audio: state.audio, video: state.video };
      state.participants.set(me.id, me);
      renderTile(me);
      const v = tileFor(me.id).querySelector("video");
      v.muted = true;
      if (local) v.srcObject = local;
      for (const p of m.participants || []) { state.participants.set(p.id, p); renderTile(p); }
      send({ type: "media", audio: state.audio, video: state.video });
      await publish();
      window.devices.start(); // the device lists get their names once allowed; quality from now on
      break;
    }
    case "joined":
      state.participants.set(m.participant.id, m.participant);
      renderTile(m.participant);
      notice(t("joined", { name: m.participant.name }));
      break;
    case "left": {
      state.participants.delete(m.participant.id);
      tileSizes.delete(m.participant.id);
      const el = document.querySelector(`.tile[data-id="${CSS.escape(m.participant.id)}"]`);
      if (el) el.remove();
      window.devices.renderScreens(); // their screen goes too
      notice(t("left", { name: m.participant.name }));
      break;
    }
    case "media":
      state.participants.set(m.participant.id, m.participant);
      renderTile(m.participant);
      window.devices.renderScreens(); // a screen that stopped goes
      break;
    case "offer":
      await pc.setRemoteDescription({ type: "offer", sdp: m.sdp });
      for (const c of early.splice(0)) await pc.addIceCandidate(c);
      await window.devices.attach(m.screen_mid); // the transceiver this page's screen goes out on
      await pc.setLocalDescription(await pc.createAnswer());
      send({ type: "answer", sdp: pc.localDescription.sdp });
      await window.devices.tune();
      break;
    case "answer":
      await pc.setRemoteDescription({ type: "answer", sdp: m.sdp });
      for (const c of early.splice(0)) await pc.addIceCandidate(c);
      break;
    case "candidate":
      // One that overtook the description it belongs to waits for it.
      if (!pc.remoteDescription) early.push(m.candidate);
      else await pc.addIceCandidate(m.candidate);
      break;
    case "speaker":
      showSpeaker(m.target);
      break;
    case "chat": {
      const li = document.createElement("li");
      const who = document.createElement("b");
      who.textContent = m.participant.name;
      const when = document.createElement("time");
      when.textContent = new Date(m.sent).toLocaleTimeString(lang === "ja" ? "ja-JP" : "en-GB", { hour: "2-digit", minute: "2-digit" });
      const text = document.createElement("span");
      text.textContent = m.text; // text, never markup
      li.append(who, when, text);
      $("chatLog").append(li);
      li.scrollIntoView({ block: "end" });
      break;
    }
    case "muted":
      if (state.audio) toggle("audio");
      notice(t("mutedBy", { name: m.participant.name }));
      break;
    case "room":
      state.locked = !!m.room.locked;
      applyTexts();
      notice(t(state.locked ? "locked" : "unlocked"));
      break;
    case "removed":
      state.refusal = true;
      stopAll();
      error((lang === "ja" ? m.error.message_ja : m.error.message) || m.error.code);
      break;
    case "ended":
      state.left = true;
      stopAll();
      notice(t("ended"));
      break;
    case "error":
      window.meet.errors.push(m.error);
      // A refused message is the page's own bug, not the user's to fix.
      if (m.error && m.error.code !== "meet_bad_message") {
        state.refusal = true;
        error((lang === "ja" ? m.error.message_ja : m.error.message) || m.error.code);
      }
      break;
  }
}

function toggle(kind) {
  const on = kind === "audio" ? (state.audio = !state.audio) : (state.video = !state.video);
  if (local) for (const tr of (kind === "audio" ? local.getAudioTracks() : local.getVideoTracks())) tr.enabled = on;
  const btn = $(kind === "audio" ? "mic" : "cam");
  btn.setAttribute("aria-pressed", String(on));
  applyTexts();
  if (state.self) {
    const me = state.participants.get(state.self.id);
    me[kind] = on;
    renderTile(me);
  }
  send({ type: "media", [kind]: on });
}

// stopAll ends this page's part: camera and mic off, connections closed.
function stopAll() {
  window.lobby.close();
  window.devices.stop();
  if (ws) ws.close();
  if (pc) pc.close();
  if (local) for (const tr of local.getTracks()) tr.stop();
  $("room").hidden = true; $("controls").hidden = true; $("chat").hidden = true;
}

function leave() {
  state.left = true;
  send({ type: "leave" });
  stopAll();
  notice(t("youLeft"));
}

function sendChat() {
  const input = $("chatInput");
  const text = input.value.trim();
  if (!text) return;
  send({ type: "chat", text });
  input.value = "";
}

// For tests and support: the connection and a JSON-ready stats report.
window.meet = {
  pc: null, errors: [], state,
  // layers: a layer asked for outright, by participant (q, h or f); the
  // broker still sends no more than the line affords.
  layers: {},
  setLayer: (id, layer) => { if (layer) window.meet.layers[id] = layer; else delete window.meet.layers[id]; sendViews(); },
  tiles: () => [...document.querySelectorAll(".tile")].map((el) => ({ id: el.dataset.id, name: el.querySelector(".name").textContent })),
  screens: () => window.devices.screens(),
  stats: async () => {
    if (!pc) return [];
    const out = [];
    (await pc.getStats()).forEach((r) => out.push(r));
    return out;
  },
};

$("join").onclick = join;
$("mic").onclick = () => toggle("audio");
$("cam").onclick = () => toggle("video");
$("leave").onclick = leave;
$("audioOnly").onclick = toggleAudioOnly;
$("lock").onclick = () => send({ type: "host", action: state.locked ? "unlock" : "lock" });
$("endAll").onclick = () => { if (confirm(t("endConfirm"))) send({ type: "host", action: "end" }); };
$("chatSend").onclick = sendChat;
$("chatInput").onkeydown = (e) => { if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendChat(); } };
$("lang").onclick = () => { lang = lang === "ja" ? "en" : "ja"; applyTexts(); };
applyTexts();
