// Guests and the lobby. A guest's link (#guest=...) knocks on the room's
// door and waits on the lobby socket until the host admits or declines;
// admitted, the page joins with the join token the broker hands over. The
// host's page (#lobby=...) keeps the lobby socket open and shows who waits,
// with admit and decline. Loaded before meet.js, which takes the fragment
// out of the address bar: read it first. Uses meet.js's lang, $, error and
// notice at run time only.
"use strict";

const lobbyTexts = {
  ja: {
    guest: "ゲスト", door: "ロビーで待っている人", admit: "参加を許可", decline: "拒否",
    knocking: "主催者に参加を依頼しています…", waiting: "{name} として参加します。主催者の許可を待っています。このままお待ちください。",
    knocked: "{name} さんがロビーで待っています。", guestIntro: "ゲストとして会議に参加します。カメラとマイクを使います。",
  },
  en: {
    guest: "Guest", door: "Waiting in the lobby", admit: "Admit", decline: "Decline",
    knocking: "Asking the host to let you in…", waiting: "You will join as {name}. Waiting for the host to let you in; please stay on this page.",
    knocked: "{name} is waiting in the lobby.", guestIntro: "Join the meeting as a guest, with your camera and mic.",
  },
};

window.lobby = (() => {
  const frag = new URLSearchParams(location.hash.slice(1));
  const guest = frag.get("guest") || "";
  const doorToken = frag.get("lobby") || "";
  const lt = (k, vars) => ((lobbyTexts[lang] || lobbyTexts.ja)[k] || k).replace(/\{(\w+)\}/g, (_, v) => (vars || {})[v] || "");
  const room = () => decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
  const sockURL = (tok) => `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/v1/meet/rooms/${encodeURIComponent(room())}/lobby?join=${encodeURIComponent(tok)}`;
  const message = (e) => (e ? ((lang === "ja" ? e.message_ja : e.message) || e.code) : "");
  const st = { waitingAs: "", list: [], sock: null, door: null };

  function render() {
    const w = document.getElementById("waiting");
    if (w) w.textContent = st.waitingAs ? lt("waiting", { name: st.waitingAs }) : (st.sock ? lt("knocking") : "");
    if (guest) document.getElementById("join").hidden = !!st.sock; // pressed once: now the host decides
    if (guest && !st.waitingAs && !st.sock) {
      const intro = document.querySelector('#lobby [data-i18n="intro"]');
      if (intro) intro.textContent = lt("guestIntro");
    }
    const box = document.getElementById("door");
    if (!box) return;
    box.hidden = st.list.length === 0;
    box.querySelector("h2").textContent = lt("door");
    const ol = box.querySelector("ol");
    ol.replaceChildren();
    for (const p of st.list) {
      const li = document.createElement("li");
      li.dataset.id = p.id;
      const n = document.createElement("span");
      n.className = "name";
      n.textContent = p.name; // text, never markup: the host typed it, the guest did not, but still
      const b = document.createElement("span");
      b.className = "badge";
      b.textContent = lt("guest");
      const yes = document.createElement("button");
      yes.type = "button"; yes.className = "admit"; yes.textContent = lt("admit");
      yes.onclick = () => decide("admit", p.id);
      const no = document.createElement("button");
      no.type = "button"; no.className = "decline"; no.textContent = lt("decline");
      no.onclick = () => decide("decline", p.id);
      li.append(n, b, yes, no);
      ol.append(li);
    }
  }

  function decide(type, target) {
    if (st.door && st.door.readyState === WebSocket.OPEN) st.door.send(JSON.stringify({ type, target }));
  }

  // wait knocks with the guest link and resolves with a join token once
  // the host admits; it rejects (having said why) otherwise.
  async function wait() {
    st.sock = true;
    render();
    const res = await fetch(`/v1/meet/rooms/${encodeURIComponent(room())}/knock`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ link: guest }),
    });
    const body = await res.json().catch(() => ({}));
    if (res.ok && body.broker && !body.token) {
      // The room is on another broker (the link named the shared
      // address): knock there, the link still in the fragment only.
      const to = new URL(body.broker);
      if (to.protocol === "https:" && to.origin !== location.origin) {
        location.replace(to.origin + location.pathname + location.search + location.hash);
        return new Promise(() => {});
      }
    }
    if (!res.ok) {
      st.sock = null; render();
      error(message(body) || String(res.status));
      throw new Error("knock refused");
    }
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(sockURL(body.token));
      st.sock = ws;
      let done = false;
      ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        switch (m.type) {
          case "waiting":
            st.waitingAs = (m.participant && m.participant.name) || body.name;
            if (m.room && m.room.title) document.getElementById("title").textContent = m.room.title;
            render();
            break;
          case "admitted":
            done = true; st.waitingAs = ""; st.sock = null; render();
            resolve(m.token);
            break;
          case "declined": case "ended":
            done = true; st.waitingAs = ""; st.sock = null; render();
            error(message(m.error));
            reject(new Error(m.type));
            break;
          case "error":
            window.meet.errors.push(m.error);
            break;
        }
      };
      ws.onclose = () => {
        if (done) return;
        st.waitingAs = ""; st.sock = null; render();
        error(t("lost"));
        reject(new Error("closed"));
      };
    });
  }

  // openDoor is the host's: who waits, kept current by the broker.
  function openDoor() {
    if (!doorToken || st.door) return;
    const ws = new WebSocket(sockURL(doorToken));
    st.door = ws;
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.type === "lobby") {
        const before = new Set(st.list.map((p) => p.id));
        st.list = m.participants || [];
        for (const p of st.list) if (!before.has(p.id)) notice(lt("knocked", { name: p.name }));
        render();
      } else if (m.type === "error") {
        window.meet.errors.push(m.error);
      }
    };
  }

  function close() {
    if (st.door) st.door.close();
    st.list = [];
    render();
  }

  return { guest, wait, openDoor, close, applyTexts: render, text: lt, waiting: () => st.list.map((p) => p.name) };
})();
