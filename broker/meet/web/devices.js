// Devices, screen share and the connection's quality. Camera and mic are
// chosen from selects filled by enumerateDevices (before joining and
// during the meeting: the new device's track replaces the old one on the
// same sender, so no renegotiation is needed); screen share sends the
// screen in place of the camera until it is stopped (replaceTrack again);
// the quality line reads the selected candidate pair's round-trip time
// and the packets lost on what arrives, every two seconds. Loaded before
// meet.js; uses its lang, $, pc, local, state, error and notice at run
// time only.
"use strict";

const deviceTexts = {
  ja: {
    camera: "カメラ", mic: "マイク", share: "画面を共有", unshare: "共有を停止",
    sharing: "画面を共有しています。参加者にはカメラの代わりに画面が見えます。",
    shareDenied: "画面の共有が許可されませんでした。共有する画面を選んでください。",
    shareFailed: "画面を共有できませんでした。このブラウザーが画面共有に対応しているか確認してください。",
    switchFailed: "選んだ機器を使えません。他のアプリが使用中でないか確認してください。",
    quality: "接続: {level}", good: "良好", fair: "やや不安定", poor: "不安定", measuring: "測定中",
    qualityDetail: "（往復 {rtt} ms・損失 {loss}%）",
  },
  en: {
    camera: "Camera", mic: "Mic", share: "Share screen", unshare: "Stop sharing",
    sharing: "You are sharing your screen: the others see it in place of your camera.",
    shareDenied: "Screen sharing was not allowed. Choose a screen to share.",
    shareFailed: "The screen could not be shared. Check that this browser can share a screen.",
    switchFailed: "The chosen device cannot be used. Check that no other application is using it.",
    quality: "Connection: {level}", good: "good", fair: "fair", poor: "poor", measuring: "measuring",
    qualityDetail: " (round trip {rtt} ms, {loss}% lost)",
  },
};

window.devices = (() => {
  const dt = (k, vars) => ((deviceTexts[lang] || deviceTexts.ja)[k] || k).replace(/\{(\w+)\}/g, (_, v) => (vars || {})[v] ?? "");
  const st = { camera: "", mic: "", screen: null, sender: null, level: "", rtt: null, loss: null, prev: null, timer: null };

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
      if (pc && !(kind === "video" && st.screen)) {
        for (const snd of pc.getSenders()) if (snd.track && snd.track.kind === nt.kind) await snd.replaceTrack(nt);
      }
      if (old) { local.removeTrack(old); old.stop(); }
      local.addTrack(nt);
    } catch (e) {
      error(dt("switchFailed"));
    }
  }

  function videoSender() {
    return pc && pc.getSenders().find((s) => s.track && s.track.kind === "video");
  }

  async function share() {
    if (st.screen) { await unshare(); return; }
    const snd = videoSender();
    if (!snd || !navigator.mediaDevices.getDisplayMedia) { error(dt("shareFailed")); return; }
    try {
      const s = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      const tr = s.getVideoTracks()[0];
      tr.onended = () => { unshare(); };
      await snd.replaceTrack(tr);
      st.screen = tr; st.sender = snd;
      notice(dt("sharing"));
      // The others see video now, whatever the camera's button says.
      send({ type: "media", video: true });
    } catch (e) {
      error(e && e.name === "NotAllowedError" ? dt("shareDenied") : dt("shareFailed"));
    }
    render();
  }

  async function unshare() {
    const tr = st.screen;
    st.screen = null;
    if (tr) tr.stop();
    const snd = st.sender;
    st.sender = null;
    const cam = local && local.getVideoTracks()[0];
    if (snd && cam) await snd.replaceTrack(cam);
    send({ type: "media", video: state.video });
    render();
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
  }

  function start() {
    fill();
    if (!st.timer) st.timer = setInterval(() => { measure().catch(() => {}); }, 2000);
  }

  function stop() {
    if (st.timer) clearInterval(st.timer);
    st.timer = null;
    if (st.screen) st.screen.stop();
    st.screen = null;
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

  return { constraints, fill, start, stop, applyTexts: render, quality: () => ({ level: st.level, rtt: st.rtt, loss: st.loss }), sharing: () => !!st.screen };
})();
