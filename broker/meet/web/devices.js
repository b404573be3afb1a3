// Devices, screen share and the connection's quality. Camera and mic are
// chosen from selects filled by enumerateDevices (before joining and
// during the meeting: the new device's track replaces the old one on the
// same sender, so no renegotiation is needed). Screen share sends the
// screen as a second video track beside the camera: the first time, the
// page asks the broker (screen), whose next offer names the transceiver
// for it (screen_mid), and the answer sends the screen on it; later
// shares put the new screen on the same sender. Everyone's screen is a
// large tile of its own above the participants' tiles. The quality line
// reads the selected candidate pair's round-trip time and the packets
// lost on what arrives, every two seconds. Loaded before meet.js; uses
// its lang, $, pc, local, state, send, error and notice at run time only.
"use strict";

const deviceTexts = {
  ja: {
    camera: "カメラ", mic: "マイク", share: "画面を共有", unshare: "共有を停止",
    sharing: "画面を共有しています。参加者には、カメラの映像とは別にあなたの画面が大きく表示されます。",
    unshared: "画面の共有を停止しました。", screenOf: "{name} さんの画面", yourScreen: "あなたの画面（共有中）",
    shareDenied: "画面の共有が許可されませんでした。共有する画面を選んでください。",
    shareFailed: "画面を共有できませんでした。このブラウザーが画面共有に対応しているか確認してください。",
    switchFailed: "選んだ機器を使えません。他のアプリが使用中でないか確認してください。",
    quality: "接続: {level}", good: "良好", fair: "やや不安定", poor: "不安定", measuring: "測定中",
    qualityDetail: "（往復 {rtt} ms・損失 {loss}%）",
  },
  en: {
    camera: "Camera", mic: "Mic", share: "Share screen", unshare: "Stop sharing",
    sharing: "You are sharing your screen: the others see it in a large tile of its own, beside your camera.",
    unshared: "You stopped sharing your screen.", screenOf: "{name}'s screen", yourScreen: "Your screen (shared)",
    shareDenied: "Screen sharing was not allowed. Choose a screen to share.",
    shareFailed: "The screen could not be shared. Check that this browser can share a screen.",
    switchFailed: "The chosen device cannot be used. Check that no other application is using it.",
    quality: "Connection: {level}", good: "good", fair: "fair", poor: "poor", measuring: "measuring",
    qualityDetail: " (round trip {rtt} ms, {loss}% lost)",
  },
};

window.devices = (() => {
  const dt = (k, vars) => ((deviceTexts[lang] || deviceTexts.ja)[k] || k).replace(/\{(\w+)\}/g, (_, v) => (vars || {})[v] ?? "");
  // screen: the shared screen's track, stream its stream; tr the
  // transceiver it goes out on, once the broker offered one (kept for
  // the next share), tuned once its encoding is set.
  const st = { camera: "", mic: "", screen: null, stream: null, tr: null, tuned: false, level: "", rtt: null, loss: null, prev: null, timer: null };

  // constraints are getUserMedia's, with the chosen devices.
  function constraints() {
    const video = { width: 1280, height: 720 };
    if (st.camera) video.deviceId = { exact: st.camera };
    return { audio: st.mic ? { deviceId: { exact: st.mic } } : true, video };
  }

  async function fill() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    const list = await navigator.mediaDevices.enumerateDevices();
    for (const [id, kind, cur] of [["camSelect", "videoinput", st.camera], ["micSelect", "audioinput", st.mic]]) {
      const sel = document.getElementById(id);
      if (!sel) continue;
      const devs = list.filter((d) => d.kind === kind);
      sel.replaceChildren();
      devs.forEach((d, i) => {
        const o = document.createElement("option");
        o.value = d.deviceId;
        o.textContent = d.label || `${dt(kind === "videoinput" ? "camera" : "mic")} ${i + 1}`; // text, never markup
        sel.append(o);
      });
      // What is in use, or the first.
      const inUse = local && (kind === "videoinput" ? local.getVideoTracks() : local.getAudioTracks())[0];
      const used = cur || (inUse && inUse.getSettings().deviceId) || "";
      if (used && devs.some((d) => d.deviceId === used)) sel.value = used;
      sel.hidden = devs.length === 0;
    }
  }

  // choose switches a device; in the meeting its track replaces the old
  // one on the same sender.
  async function choose(kind, deviceId) {
    if (kind === "video") st.camera = deviceId; else st.mic = deviceId;
    if (!local) return; // before joining: used by getUserMedia at Join
    try {
      const c = constraints();
      const s = await navigator.mediaDevices.getUserMedia(kind === "video" ? { video: c.video } : { audio: c.audio });
      const nt = (kind === "video" ? s.getVideoTracks() : s.getAudioTracks())[0];
      const old = (kind === "video" ? local.getVideoTracks() : local.getAudioTracks())[0];
      nt.enabled = kind === "video" ? state.video : state.audio;
      // The sender of the old device only (not the screen's).
      if (pc && old) {
        for (const snd of pc.getSenders()) if (snd.track === old) await snd.replaceTrack(nt);
      }
      if (old) { local.removeTrack(old); old.stop(); }
      local.addTrack(nt);
    } catch (e) {
      error(dt("switchFailed"));
    }
  }

  async function share() {
    if (st.screen) { await unshare(); return; }
    if (!pc || !navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia) { error(dt("shareFailed")); return; }
    let s;
    try {
      s = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch (e) {
      error(e && e.name === "NotAllowedError" ? dt("shareDenied") : dt("shareFailed"));
      render();
      return;
    }
    const tr = s.getVideoTracks()[0];
    // Text and lines: keep the resolution, let the frame rate give.
    if ("contentHint" in tr) tr.contentHint = "detail";
    // The browser's own stop button ends the track.
    tr.onended = () => { if (st.screen === tr) unshare(); };
    st.screen = tr; st.stream = s;
    try {
      // Shared before: the same sender, no new offer.
      if (st.tr) await st.tr.sender.replaceTrack(tr);
    } catch (e) {
      await unshare();
      error(dt("shareFailed"));
      return;
    }
    send({ type: "screen", screen: true });
    notice(dt("sharing"));
    showScreen(state.self.id, s);
    render();
  }

  async function unshare() {
    const tr = st.screen;
    if (!tr) return;
    st.screen = null; st.stream = null;
    tr.onended = null;
    tr.stop();
    if (st.tr) { try { await st.tr.sender.replaceTrack(null); } catch (_) { /* closing */ } }
    send({ type: "screen", screen: false });
    if (state.self) dropScreen(state.self.id);
    notice(dt("unshared"));
    render();
  }

  // attach is called with a broker's offer set, before the answer: the
  // transceiver it names (screen_mid) sends the screen.
  async function attach(mid) {
    if (!mid || !pc) return;
    const tr = pc.getTransceivers().find((x) => x.mid === mid);
    if (!tr) return;
    if (st.tr !== tr) { st.tr = tr; st.tuned = false; }
    tr.direction = "sendonly";
    if (st.screen && tr.sender.track !== st.screen) await tr.sender.replaceTrack(st.screen);
  }

  // tune sets the screen's one encoding once it is negotiated: no
  // simulcast (text must stay sharp, so every subscriber gets it whole),
  // up to 2.5 Mbit/s, the resolution kept before the frame rate.
  async function tune() {
    if (!st.tr || st.tuned || !st.tr.currentDirection || st.tr.currentDirection === "inactive") return;
    const p = st.tr.sender.getParameters();
    if (!p.encodings || !p.encodings.length) return;
    p.encodings[0].maxBitrate = 2500000;
    p.degradationPreference = "maintain-resolution";
    try { await st.tr.sender.setParameters(p); st.tuned = true; } catch (_) { /* the browser's defaults, then */ }
  }

  // Screen tiles: one per screen shared in the meeting, above the
  // participants' tiles; the page's own is a muted preview.
  function screenTile(id) {
    let el = document.querySelector(`#screens .screen[data-id="${CSS.escape(id)}"]`);
    if (!el) {
      el = document.createElement("div");
      el.className = "screen";
      el.dataset.id = id;
      const v = document.createElement("video");
      v.autoplay = true; v.playsInline = true; v.muted = true;
      const n = document.createElement("span"); n.className = "name";
      el.append(v, n);
      document.getElementById("screens").append(el);
    }
    return el;
  }

  function showScreen(id, stream) {
    const v = screenTile(id).querySelector("video");
    if (v.srcObject !== stream) v.srcObject = stream;
    // The broker took the track away (the share stopped, or the sharer left).
    stream.onremovetrack = () => { if (v.srcObject === stream && !stream.getVideoTracks().length) dropScreen(id); };
    renderScreens();
  }

  function dropScreen(id) {
    const el = document.querySelector(`#screens .screen[data-id="${CSS.escape(id)}"]`);
    if (el) el.remove();
  }

  // renderScreens names the screen tiles and drops those of anyone who
  // no longer shares (the broker says so in media, before it renegotiates).
  function renderScreens() {
    for (const el of document.querySelectorAll("#screens .screen")) {
      const self = !!(state.self && el.dataset.id === state.self.id);
      const p = state.participants.get(el.dataset.id);
      if (self ? !st.screen : !(p && p.screen)) { el.remove(); continue; }
      el.classList.toggle("self", self);
      el.querySelector(".name").textContent = self ? dt("yourScreen") : dt("screenOf", { name: p.name }); // text, never markup
    }
  }

  function screens() {
    return [...document.querySelectorAll("#screens .screen")].map((el) => {
      const v = el.querySelector("video");
      return { id: el.dataset.id, name: el.querySelector(".name").textContent, frames: v.getVideoPlaybackQuality().totalVideoFrames, width: v.videoWidth, height: v.videoHeight };
    });
  }

  // measure reads the connection's quality from getStats.
  async function measure() {
    if (!pc) return;
    let rtt = null, lost = 0, got = 0;
    const s = await pc.getStats();
    s.forEach((r) => {
      if (r.type === "candidate-pair" && r.nominated && r.state === "succeeded" && r.currentRoundTripTime !== undefined) rtt = r.currentRoundTripTime * 1000;
      if (r.type === "inbound-rtp") { lost += r.packetsLost || 0; got += r.packetsReceived || 0; }
    });
    const prev = st.prev;
    st.prev = { lost, got };
    let loss = null;
    if (prev) {
      const dl = lost - prev.lost, dg = got - prev.got;
      if (dl + dg > 0) loss = Math.max(0, (100 * dl) / (dl + dg));
    }
    st.rtt = rtt; st.loss = loss;
    if (rtt === null) st.level = "measuring";
    else if (rtt > 400 || (loss !== null && loss > 8)) st.level = "poor";
    else if (rtt > 150 || (loss !== null && loss > 2)) st.level = "fair";
    else st.level = "good";
    render();
  }

  function render() {
    const q = document.getElementById("quality");
    if (q) {
      q.hidden = !st.level;
      q.dataset.level = st.level;
      q.textContent = st.level ? dt("quality", { level: dt(st.level) }) +
        (st.rtt !== null ? dt("qualityDetail", { rtt: Math.round(st.rtt), loss: st.loss === null ? "0" : st.loss.toFixed(1) }) : "") : "";
    }
    const b = document.getElementById("share");
    if (b) { b.textContent = dt(st.screen ? "unshare" : "share"); b.setAttribute("aria-pressed", String(!!st.screen)); }
    for (const [id, k] of [["camLabel", "camera"], ["micLabel", "mic"]]) {
      const el = document.getElementById(id);
      if (el) el.textContent = dt(k);
    }
    renderScreens();
  }

  function start() {
    fill();
    if (!st.timer) st.timer = setInterval(() => { measure().catch(() => {}); }, 2000);
  }

  function stop() {
    if (st.timer) clearInterval(st.timer);
    st.timer = null;
    if (st.screen) { st.screen.onended = null; st.screen.stop(); }
    st.screen = null; st.stream = null;
    document.querySelectorAll("#screens .screen").forEach((el) => el.remove());
    const d = document.querySelector(".devices");
    if (d) d.hidden = true;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const cam = document.getElementById("camSelect"), mic = document.getElementById("micSelect");
    if (cam) cam.onchange = () => choose("video", cam.value);
    if (mic) mic.onchange = () => choose("audio", mic.value);
    const b = document.getElementById("share");
    if (b) b.onclick = () => { share(); };
    if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) navigator.mediaDevices.addEventListener("devicechange", () => { fill(); });
    fill();
    render();
  });

  return { constraints, fill, start, stop, applyTexts: render, quality: () => ({ level: st.level, rtt: st.rtt, loss: st.loss }), sharing: () => !!st.screen,
    attach, tune, showScreen, renderScreens, screens, screenTrack: () => st.screen };
})();
