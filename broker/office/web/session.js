// The office page's sign-in: the same /v1/login as the app (staff ID,
// password, one-time code, a device key), tokens kept in this closure's
// memory only, refreshed with a proof signed by the device key.
//
// Why memory and not a cookie: the broker's routes take a bearer token in
// the Authorization header, which a browser never attaches on its own, so
// no other site can make this browser call them (no CSRF to defend). A
// token in memory is gone when the tab closes or reloads; nothing of the
// sign-in is written to the office PC's disk but the device key below,
// which cannot be read out. What could steal a token from memory is a
// script running in the page, and the page's Content-Security-Policy lets
// no script run but these files (messages are always set as text).
//
// The device key is an Ed25519 key made by WebCrypto as non-extractable
// and kept in IndexedDB, so this browser is one enrolled device, as a
// laptop is (IT may have to approve it once, as they do a laptop), and
// its sign-ins carry the device proof that keeps a stranger's failed
// attempts from locking it out. The page can sign with the key; no
// script, not even the page's own, can read its private half.
"use strict";

const session = (() => {
  let tok = null;       // {access, refresh, deviceId, user, offsetMs}
  let refreshTimer = 0;
  let refreshing = null;
  let onEnded = () => {};

  const b64 = (buf) => {
    const b = new Uint8Array(buf);
    let s = "";
    for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return btoa(s);
  };
  const utf8 = (s) => new TextEncoder().encode(s);

  // ApiError is a broker refusal (body: the error catalogue's entry) or,
  // with status 0, a network failure.
  class ApiError extends Error {
    constructor(status, body) {
      super(body && body.code ? body.code : "http " + status);
      this.status = status;
      this.body = body;
    }
    get code() { return this.body && this.body.code; }
  }

  // ---- the device key --------------------------------------------------

  const DB = "zaitaku-office", STORE = "device";
  function idb() {
    return new Promise((resolve, reject) => {
      const r = indexedDB.open(DB, 1);
      r.onupgradeneeded = () => r.result.createObjectStore(STORE);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  }
  function idbDo(mode, fn) {
    return idb().then((db) => new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => { db.close(); resolve(req.result); };
      tx.onerror = () => { db.close(); reject(tx.error); };
    }));
  }
  let device = null;
  async function deviceKey() {
    if (device) return device;
    if (!window.crypto || !crypto.subtle) throw new Error("noCrypto");
    let stored = null;
    try { stored = await idbDo("readonly", (s) => s.get("key")); } catch (_) { stored = null; }
    if (!stored || !stored.pair || !stored.pub) {
      let pair;
      try {
        pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
      } catch (_) {
        throw new Error("noCrypto");
      }
      const pub = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
      stored = { pair, pub };
      // A browser that keeps no IndexedDB (a private window) still signs
      // in, as a new device each time.
      try { await idbDo("readwrite", (s) => s.put(stored, "key")); } catch (_) { /* memory only */ }
    }
    device = stored;
    return device;
  }
  async function sign(message) {
    const d = await deviceKey();
    return b64(await crypto.subtle.sign({ name: "Ed25519" }, d.pair.privateKey, utf8(message)));
  }
  function deviceInfo(d) {
    const ua = navigator.userAgentData;
    const os = (ua && ua.platform) || navigator.platform || "browser";
    return { name: "オフィスページ (web)", os: String(os).slice(0, 100), public_key: b64(d.pub) };
  }

  // ---- requests ---------------------------------------------------------

  async function send(method, path, body, token) {
    const headers = { "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers["Authorization"] = "Bearer " + token;
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit", cache: "no-store", redirect: "error" });
    } catch (e) {
      throw new ApiError(0, null);
    }
    if (res.status === 204) return null;
    let data = null, text;
    // The line may drop between the answer's head and its body.
    try { text = await res.text(); } catch (e) { throw new ApiError(0, null); }
    if (text) { try { data = JSON.parse(text); } catch (_) { data = null; } }
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  // take keeps a full sign-in's tokens and plans their refresh. The
  // broker's clock may differ from this PC's: proofs are stamped by the
  // broker's, estimated from the lifetime it gave.
  function take(resp) {
    const brokerNow = Date.parse(resp.access_expires_at) - resp.access_expires_in * 1000;
    tok = { access: resp.access_token, refresh: resp.refresh_token || "", deviceId: resp.device.id,
      user: resp.user, offsetMs: isFinite(brokerNow) ? brokerNow - Date.now() : 0 };
    clearTimeout(refreshTimer);
    if (tok.refresh) {
      const inMs = Math.max(30, resp.access_expires_in * 0.75) * 1000;
      refreshTimer = setTimeout(() => { refresh().catch(() => {}); }, inMs);
    }
  }
  const brokerUnix = () => Math.floor((Date.now() + (tok ? tok.offsetMs : 0)) / 1000);

  async function refresh() {
    if (refreshing) return refreshing;
    const t = tok;
    if (!t || !t.refresh) throw new ApiError(401, null);
    refreshing = (async () => {
      const ts = brokerUnix();
      const sig = await sign("zaitaku-refresh-v1\n" + t.refresh + "\n" + t.deviceId + "\n" + ts);
      try {
        take(await send("POST", "/v1/token/refresh", { refresh_token: t.refresh, device_id: t.deviceId, timestamp: ts, signature: sig }));
      } catch (e) {
        if (e.status >= 400 && e.status < 500) end("expired");
        throw e;
      }
    })();
    try { await refreshing; } finally { refreshing = null; }
  }

  function end(reason) {
    const had = tok !== null;
    tok = null;
    clearTimeout(refreshTimer);
    if (had) onEnded(reason);
  }

  return {
    ApiError,
    get user() { return tok && tok.user; },
    get signedIn() { return tok !== null && tok.refresh !== ""; },
    // now is the broker's clock as this PC estimates it, in milliseconds:
    // the edit window counts from the broker's time of a message.
    now() { return Date.now() + (tok ? tok.offsetMs : 0); },
    onEnded(fn) { onEnded = fn; },

    // login answers {stage, enrollment, password_rules}; with stage "ok"
    // the page is signed in.
    async login(staffId, password, otp) {
      const d = await deviceKey();
      const info = deviceInfo(d);
      const ts = Math.floor(Date.now() / 1000);
      const proof = { timestamp: ts, signature: await sign("zaitaku-login-v1\n" + staffId + "\n" + info.public_key + "\n" + ts) };
      const resp = await send("POST", "/v1/login", { staff_id: staffId, password, otp, device: info, proof });
      if (resp.stage === "ok") take(resp);
      else tok = { access: resp.access_token, refresh: "", deviceId: resp.device.id, user: resp.user, offsetMs: 0 };
      return resp;
    },
    // finishSetup sends a setup step (one-time code enrollment, password
    // change) with the setup token; its answer is a sign-in of its own.
    async finishSetup(path, body) {
      const resp = await send("POST", path, body, tok && tok.access);
      if (resp.stage === "ok") take(resp);
      else tok = { access: resp.access_token, refresh: "", deviceId: resp.device.id, user: resp.user, offsetMs: 0 };
      return resp;
    },

    // api calls a broker route as the signed-in user; an expired access
    // token is refreshed once and the call repeated.
    async api(method, path, body) {
      if (!tok) throw new ApiError(401, null);
      try {
        return await send(method, path, body, tok.access);
      } catch (e) {
        if (e.status !== 401 || !tok || !tok.refresh) throw e;
        await refresh();
        return send(method, path, body, tok.access);
      }
    },
    refresh,

    // socketURL is the event socket's address. A browser cannot set a
    // header on a WebSocket, so the access token rides in the query of
    // this one route (the broker accepts it nowhere else and logs route
    // patterns, never the address).
    socketURL(after) {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      return scheme + "//" + location.host + "/v1/events?after=" + after + "&access_token=" + encodeURIComponent(tok ? tok.access : "");
    },

    // signOut revokes the tokens at the broker and forgets them.
    async signOut() {
      const t = tok;
      end("");
      if (t) { try { await send("POST", "/v1/logout", undefined, t.access); } catch (_) { /* forgotten here anyway */ } }
    },
    // leave is signOut for a closing tab: the request must outlive the page.
    leave() {
      const t = tok;
      tok = null;
      clearTimeout(refreshTimer);
      if (t) {
        try { fetch("/v1/logout", { method: "POST", keepalive: true, credentials: "omit", headers: { "Authorization": "Bearer " + t.access } }); } catch (_) { /* closing */ }
      }
    },
    end,
  };
})();
