// The Zaitaku admin console. Framework-free on purpose: a few hundred
// lines the broker embeds, no build step, nothing fetched from elsewhere
// (the Content-Security-Policy admits this file only). It calls the admin
// API (/admin/v1) with the session cookie and, on every change, the CSRF
// token; the broker holds the sign-in's tokens, never this page.
"use strict";

const T = {
  ja: {
    "title": "在宅接続 管理コンソール", "signout": "サインアウト",
    "signin.title": "管理者サインイン", "signin.id": "職員番号", "signin.password": "パスワード", "signin.otp": "ワンタイムコード",
    "signin.button": "サインイン", "signin.hint": "情報システム担当・監査担当・所属の担当者のアカウントでサインインします。",
    "signin.idle": "一定時間操作がなかったため、サインアウトしました。", "signin.out": "サインアウトしました。",
    "tab.live": "接続状況", "tab.staff": "職員と端末", "tab.pcs": "庁内PC", "tab.roster": "名簿取込", "tab.oplog": "操作ログ", "tab.reports": "利用レポート",
    "live.used": "接続中", "live.queued": "待機中", "live.cap": "同時接続の上限", "live.capset": "変更", "live.updated": "更新",
    "live.sessions": "接続中のセッション", "live.queue": "待機列", "live.none": "ありません",
    "end": "終了", "end.confirm": "もう一度押すと終了", "confirm": "もう一度押すと実行", "remove": "列から外す", "end.reason": "管理者が終了しました",
    "col.user": "職員", "col.name": "氏名", "col.dept": "所属", "col.pc": "庁内PC", "col.since": "開始", "col.requested": "要求",
    "col.roles": "役割", "col.state": "状態", "col.device": "端末", "col.os": "OS", "col.lastseen": "最終利用", "col.address": "アドレス",
    "col.when": "日時", "col.status": "状態", "col.file": "ファイル", "col.actor": "実施者", "col.type": "種類", "col.target": "対象",
    "col.fields": "内容", "col.period": "期間", "col.peak": "最大同時", "col.hours": "接続時間", "col.sessions": "セッション",
    "col.people": "利用者", "col.perperson": "1人あたり", "col.queued": "待機", "col.meanwait": "平均待ち", "col.maxwait": "最長待ち", "col.gaveup": "取りやめ",
    "reload": "再読込", "staff.search": "職員番号・氏名・所属で検索", "staff.devices": "貸与端末",
    "staff.resetpw": "パスワード再発行", "staff.resetotp": "コード再設定", "staff.unlock": "ロック解除", "staff.showdevices": "端末",
    "staff.temppw": "仮パスワード(この画面でのみ表示します。本人に伝えてください): ", "staff.otpdone": "ワンタイムコードを外しました。次回サインイン時に再設定されます: ",
    "staff.unlocked": "ロックを解除しました: ", "state.locked": "ロック中", "state.disabled": "無効", "state.active": "有効",
    "device.revoke": "利用停止", "device.revoked": "端末を利用停止にしました: ", "device.active": "有効", "device.pending": "承認待ち",
    "pcs.search": "PC名・所属・職員で検索", "pcs.pair": "ペアリング", "pcs.pairbtn": "ペアにする", "pcs.paired": "ペアリングしました: ",
    "pcs.pool": "共用", "pcstate.awake": "起動中", "pcstate.asleep": "スリープ", "pcstate.in_use": "使用中", "pcstate.unknown": "不明",
    "roster.hint": "人事の職員名簿(CSV、UTF-8 または Shift_JIS)を選び、まず試行で変更内容を確認してから反映します。",
    "roster.effective": "適用日", "roster.missing": "名簿にない職員を無効にする", "roster.dryrun": "試行(変更しない)", "roster.apply": "この内容で反映",
    "roster.imports": "取込の履歴", "roster.nofile": "名簿のCSVファイルを選んでください。", "roster.problems": "問題があるため反映できません。直してから、もう一度試行してください。",
    "roster.counts": "追加 {added}・異動 {moved}・変更 {changed}・変更なし {unchanged}・無効化 {disabled}",
    "roster.done": "反映しました", "roster.pending": "適用日まで保留しました", "roster.line": "行", "roster.kind": "内容", "roster.changes": "変更点",
    "kind.added": "追加", "kind.moved": "異動", "kind.changed": "変更", "kind.unchanged": "変更なし", "kind.disabled": "無効化",
    "status.applied": "反映済み", "status.pending": "保留中", "status.cancelled": "取消", "status.failed": "失敗",
    "oplog.type": "種類 (例 login.failed)", "oplog.search": "検索", "oplog.export": "CSVで書き出し", "oplog.more": "さらに表示",
    "from": "開始", "to": "終了(含まない)", "period.day": "日ごと", "period.week": "週ごと", "period.month": "月ごと",
    "report.show": "表示", "report.csv": "CSVで書き出し", "report.peak": "最大同時接続数と上限", "report.hours": "接続時間(時間)",
    "report.all": "全体", "report.cap": "上限", "report.nodata": "この期間の記録はありません",
    "whatif.title": "上限を変えたら(記録された需要の再現)", "whatif.cap": "上限", "whatif.run": "再現する",
    "whatif.summary": "上限 {cap} なら、{replayed} 件の接続要求のうち {queued} 件が待機し、平均 {mean}・最長 {max} 待ちます(同時に最大 {peakq} 人が待機)。実際の記録では {rqueued} 件が待機しました。",
    "whatif.notreplayed": "待機中に取りやめた {n} 件は、接続時間が分からないため再現に含めていません。",
    "whatif.bars": "待機する要求数(日ごと)", "minutes": "分", "seconds": "秒",
    "readonly": "(閲覧のみ)", "done": "完了しました",
    "bcp.title": "BCPモード(災害時)", "bcp.on": "実施中", "bcp.off": "通常", "bcp.reason": "理由(職員に表示されます)",
    "bcp.start": "BCPモードを開始", "bcp.stop": "BCPモードを終了", "bcp.needreason": "BCPモードの切り替えには理由を入力してください(職員のアプリに表示されます)。",
    "bcp.detail": "上限 {cap}・優先: {who}", "bcp.unset": "未設定(broker admin bcp config で上限と優先する役割・所属を設定)",
    "bcp.since": "{when} から: {reason}", "bcp.confirm": "もう一度押すと切り替え",
  },
  en: {
    "title": "Zaitaku admin console", "signout": "Sign out",
    "signin.title": "Administrator sign-in", "signin.id": "Staff ID", "signin.password": "Password", "signin.otp": "One-time code",
    "signin.button": "Sign in", "signin.hint": "Sign in with an IT, auditor or department IT contact account.",
    "signin.idle": "You were signed out after a time without use.", "signin.out": "You are signed out.",
    "tab.live": "Live", "tab.staff": "Staff and laptops", "tab.pcs": "Office PCs", "tab.roster": "Roster import", "tab.oplog": "Operation log", "tab.reports": "Usage reports",
    "live.used": "Connected", "live.queued": "Waiting", "live.cap": "Concurrency cap", "live.capset": "Set", "live.updated": "Updated",
    "live.sessions": "Live sessions", "live.queue": "Queue", "live.none": "None",
    "end": "End", "end.confirm": "Press again to end", "confirm": "Press again to confirm", "remove": "Remove", "end.reason": "Ended by IT",
    "col.user": "Staff", "col.name": "Name", "col.dept": "Department", "col.pc": "Office PC", "col.since": "Since", "col.requested": "Requested",
    "col.roles": "Roles", "col.state": "State", "col.device": "Laptop", "col.os": "OS", "col.lastseen": "Last seen", "col.address": "Address",
    "col.when": "When", "col.status": "Status", "col.file": "File", "col.actor": "By", "col.type": "Type", "col.target": "Target",
    "col.fields": "Details", "col.period": "Period", "col.peak": "Peak", "col.hours": "Hours", "col.sessions": "Sessions",
    "col.people": "People", "col.perperson": "Per person", "col.queued": "Queued", "col.meanwait": "Mean wait", "col.maxwait": "Longest wait", "col.gaveup": "Gave up",
    "reload": "Reload", "staff.search": "Search by ID, name or department", "staff.devices": "Laptops",
    "staff.resetpw": "Reset password", "staff.resetotp": "Reset code", "staff.unlock": "Unlock", "staff.showdevices": "Laptops",
    "staff.temppw": "Temporary password (shown here only; tell the person): ", "staff.otpdone": "One-time code removed; set up again at next sign-in: ",
    "staff.unlocked": "Unlocked: ", "state.locked": "Locked", "state.disabled": "Disabled", "state.active": "Active",
    "device.revoke": "Revoke", "device.revoked": "Laptop revoked: ", "device.active": "Active", "device.pending": "Pending",
    "pcs.search": "Search by PC, department or staff", "pcs.pair": "Pairing", "pcs.pairbtn": "Pair", "pcs.paired": "Paired: ",
    "pcs.pool": "Shared", "pcstate.awake": "Awake", "pcstate.asleep": "Asleep", "pcstate.in_use": "In use", "pcstate.unknown": "Unknown",
    "roster.hint": "Choose HR's staff roster (CSV, UTF-8 or Shift_JIS), check what it changes with a dry run, then apply it.",
    "roster.effective": "Effective", "roster.missing": "Disable staff not on the roster", "roster.dryrun": "Dry run (changes nothing)", "roster.apply": "Apply this",
    "roster.imports": "Imports", "roster.nofile": "Choose the roster CSV file.", "roster.problems": "The roster has problems and cannot be applied. Fix them and run the dry run again.",
    "roster.counts": "added {added} · moved {moved} · changed {changed} · unchanged {unchanged} · disabled {disabled}",
    "roster.done": "Applied", "roster.pending": "Pending until its effective date", "roster.line": "Line", "roster.kind": "Does", "roster.changes": "Changes",
    "kind.added": "added", "kind.moved": "moved", "kind.changed": "changed", "kind.unchanged": "unchanged", "kind.disabled": "disabled",
    "status.applied": "applied", "status.pending": "pending", "status.cancelled": "cancelled", "status.failed": "failed",
    "oplog.type": "Type (e.g. login.failed)", "oplog.search": "Search", "oplog.export": "Export CSV", "oplog.more": "More",
    "from": "From", "to": "To (exclusive)", "period.day": "By day", "period.week": "By week", "period.month": "By month",
    "report.show": "Show", "report.csv": "Export CSV", "report.peak": "Peak concurrency and the cap", "report.hours": "Hours connected",
    "report.all": "All", "report.cap": "cap", "report.nodata": "Nothing recorded in this range",
    "whatif.title": "What if the cap were N (the recorded demand replayed)", "whatif.cap": "Cap", "whatif.run": "Replay",
    "whatif.summary": "With a cap of {cap}, of {replayed} requests {queued} would have queued, {mean} on average and {max} at most ({peakq} waiting at once at most). As recorded, {rqueued} queued.",
    "whatif.notreplayed": "{n} requests that gave up in the queue are not replayed (their session length is unknown).",
    "whatif.bars": "Requests that would queue, per day", "minutes": "min", "seconds": "s",
    "readonly": "(read only)", "done": "Done",
    "bcp.title": "BCP mode (disaster)", "bcp.on": "ON", "bcp.off": "Normal", "bcp.reason": "Reason (shown to staff)",
    "bcp.start": "Start BCP mode", "bcp.stop": "End BCP mode", "bcp.needreason": "Switching BCP mode needs a reason (the staff's apps show it).",
    "bcp.detail": "cap {cap} · first: {who}", "bcp.unset": "not configured (broker admin bcp config: the cap and the roles and departments served first)",
    "bcp.since": "since {when}: {reason}", "bcp.confirm": "Press again to switch",
  },
};

let lang = localStorage.getItem("zaitaku.lang") || (new URLSearchParams(location.search).get("lang") === "en" ? "en" : "ja");
let session = null; // {user, csrf_token, idle_seconds}
let lastActivity = Date.now();
let liveTimer = null;
let users = [];
let pcs = [];
let rosterFile = null; // the file the last dry run read: apply sends exactly it
let oplogNext = "";
let currentTab = "live";

const $ = (id) => document.getElementById(id);
function t(key, vars) {
  let s = (T[lang] && T[lang][key]) || T.ja[key] || key;
  for (const k in vars || {}) s = s.split("{" + k + "}").join(String(vars[k]));
  return s;
}
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const k in attrs || {}) {
    if (k === "class") e.className = attrs[k];
    else if (k === "text") e.textContent = attrs[k];
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), attrs[k]);
    else e.setAttribute(k, attrs[k]);
  }
  for (const c of kids) if (c != null) e.append(c);
  return e;
}
function fmtTime(s) {
  if (!s) return "";
  return new Date(s).toLocaleString(lang === "ja" ? "ja-JP" : "en-GB", { timeZone: "Asia/Tokyo", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}
function fmtWait(sec) {
  sec = Math.round(sec || 0);
  if (sec < 60) return sec + t("seconds");
  return (sec / 60).toFixed(1) + t("minutes");
}
function canChange() {
  const r = (session && session.user.roles) || [];
  return r.includes("admin") || r.includes("dept_admin");
}

function applyLang() {
  document.documentElement.lang = lang;
  document.title = t("title");
  for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
  for (const e of document.querySelectorAll("[data-i18n-ph]")) e.placeholder = t(e.dataset.i18nPh);
  $("lang").textContent = lang === "ja" ? "English" : "日本語";
  showWho();
}

function notice(msg, info) {
  const n = $("notice");
  n.textContent = msg || "";
  n.hidden = !msg;
  n.classList.toggle("info", !!info);
}

// api calls the admin API. Background calls (polling) do not count as
// activity for the idle sign-out, on the broker as here.
async function api(method, path, body, background) {
  const h = {};
  if (body !== undefined) h["Content-Type"] = "application/json";
  if (method !== "GET" && session) h["X-Zaitaku-CSRF"] = session.csrf_token;
  if (background) h["X-Zaitaku-Background"] = "1";
  const r = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  if (r.status === 204) return null;
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    if (data.code === "console_signed_out") signedOut(t("signin.idle"));
    const err = new Error((lang === "ja" ? data.message_ja : data.message) || data.message || r.statusText);
    if (lang === "ja" && data.detail_ja) data.detail = data.detail_ja;
    err.code = data.code;
    err.detail = data.detail;
    throw err;
  }
  return data;
}

function fail(e) {
  notice(e.message + (e.detail ? "\n" + e.detail : ""));
}

async function signIn() {
  notice("");
  try {
    const r = await fetch("/console/v1/login", {
      method: "POST", headers: { "Content-Type": "application/json" }, credentials: "same-origin",
      body: JSON.stringify({ staff_id: $("staff-id").value.trim(), password: $("password").value, otp: $("otp").value.trim() }),
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw Object.assign(new Error((lang === "ja" ? data.message_ja : data.message) || r.statusText), { detail: data.detail });
    $("password").value = "";
    $("otp").value = "";
    started(data);
  } catch (e) {
    fail(e);
  }
}

function started(s) {
  session = s;
  lastActivity = Date.now();
  const roles = s.user.roles || [];
  const central = roles.includes("admin") || roles.includes("auditor");
  document.body.classList.toggle("readonly", !canChange());
  // What the admin API keeps to central IT (the cap, the log, the
  // reports) is not offered to a department's IT contact.
  document.body.classList.toggle("not-admin", !roles.includes("admin"));
  for (const tab of ["oplog", "reports"]) document.querySelector(`nav button[data-tab="${tab}"]`).hidden = !central;
  $("signin").hidden = true;
  $("tabs").hidden = false;
  $("signout").hidden = false;
  showWho();
  showTab(location.hash.slice(1) || "live");
}

function showWho() {
  if (!session) { $("who").textContent = ""; return; }
  $("who").textContent = session.user.name + " (" + session.user.id + ")" + (canChange() ? "" : " " + t("readonly"));
}

// signedOut leaves nothing of the session in the page: a signed-in page
// is reloaded (the DOM held its users, logs and reports), with the
// message carried over in sessionStorage.
function signedOut(msg) {
  if (session) {
    session = null;
    sessionStorage.setItem("zaitaku.notice", msg || "");
    location.replace("/console");
    return;
  }
  showSignin(msg);
}

function showSignin(msg) {
  session = null;
  for (const id of ["staff-id", "password", "otp"]) $(id).value = ""; // a shared PC keeps nothing
  if (liveTimer) clearInterval(liveTimer);
  liveTimer = null;
  for (const s of document.querySelectorAll(".tab")) s.hidden = true;
  $("tabs").hidden = true;
  $("signout").hidden = true;
  $("signin").hidden = false;
  showWho();
  notice(msg || "", true);
}

async function signOut(msg) {
  try { await api("POST", "/console/v1/logout"); } catch (e) { /* signed out either way */ }
  signedOut(msg || t("signin.out"));
}

function showTab(name) {
  if (!$("tab-" + name)) name = "live";
  currentTab = name;
  for (const s of document.querySelectorAll(".tab")) s.hidden = s.id !== "tab-" + name;
  for (const b of document.querySelectorAll("nav button")) b.classList.toggle("active", b.dataset.tab === name);
  history.replaceState(null, "", "#" + name);
  if (liveTimer) clearInterval(liveTimer);
  liveTimer = null;
  notice("");
  const load = { live: startLive, staff: loadStaff, pcs: loadPCs, roster: loadImports, oplog: () => searchOplog(false), reports: loadReports }[name];
  load();
}

// --- live view: polls the admin API every 2 s ---

function startLive() {
  refreshLive();
  liveTimer = setInterval(refreshLive, 2000);
}

async function refreshLive() {
  let l;
  try { l = await api("GET", "/admin/v1/sessions", undefined, true); } catch (e) { return fail(e); }
  $("used-value").textContent = l.used;
  $("queued-value").textContent = l.queue.length;
  $("cap-value").textContent = l.cap;
  // While BCP mode is on the cap in force is its own; the field edits
  // the normal cap, which renderBCP reads.
  if (document.activeElement !== $("cap-input") && !(l.bcp && l.bcp.active)) $("cap-input").value = l.cap;
  $("live-updated").textContent = new Date().toLocaleTimeString(lang === "ja" ? "ja-JP" : "en-GB");
  renderBCP(l.bcp);
  const body = $("sessions-body");
  body.replaceChildren(...(l.sessions.length ? l.sessions.map((s) => el("tr", { "data-slot": s.id },
    el("td", { text: s.user_id }), el("td", { text: s.user_name || "" }), el("td", { text: s.department || "" }),
    el("td", { text: (s.terminal && s.terminal.name) || "" }), el("td", { text: fmtTime(s.granted_at) }),
    el("td", {}, endButton(s.id, "end")))) : [el("tr", {}, el("td", { colspan: "6", class: "hint", text: t("live.none") }))]));
  const q = $("queue-body");
  q.replaceChildren(...(l.queue.length ? l.queue.map((s, i) => el("tr", { "data-slot": s.id },
    el("td", { text: String(s.position || i + 1) }), el("td", { text: s.user_id }), el("td", { text: s.user_name || "" }),
    el("td", { text: s.department || "" }), el("td", { text: fmtTime(s.requested_at) }),
    el("td", {}, endButton(s.id, "remove")))) : [el("tr", {}, el("td", { colspan: "6", class: "hint", text: t("live.none") }))]));
}

// renderBCP shows BCP mode's state with the live view (the sessions
// answer carries it) and, for IT, the switch, which needs a reason.
let bcpActive = null;
function renderBCP(b) {
  if (!b) return;
  const card = $("bcp-card");
  card.classList.toggle("on", b.active);
  $("bcp-state").textContent = b.active ? t("bcp.on") : t("bcp.off");
  const who = [...(b.roles || []), ...(b.departments || [])].join(", ") || "-";
  $("bcp-detail").textContent = (b.cap ? t("bcp.detail", { cap: b.cap, who }) : t("bcp.unset")) +
    (b.active && b.since ? " — " + t("bcp.since", { when: fmtTime(b.since), reason: b.reason || "" }) : "");
  if (bcpActive === b.active) return; // keep a pressed (armed) button as it is
  bcpActive = b.active;
  if (b.active) {
    api("GET", "/admin/v1/slots/config", undefined, true).then((c) => { $("cap-input").value = c.cap; }).catch(fail);
  }
  $("bcp-button").replaceChildren(armed(b.active ? "bcp.stop" : "bcp.start", async () => {
    const reason = $("bcp-reason").value.trim();
    if (!reason) return notice(t("bcp.needreason"));
    await api("POST", "/admin/v1/bcp/" + (b.active ? "off" : "on"), { reason });
    $("bcp-reason").value = "";
    notice(t("done"), true);
    refreshLive();
  }, "bcp.confirm"));
}

// armed makes a destructive button ask for a second press (no dialogs:
// they block the page and cannot be styled).
function armed(label, run, confirmKey) {
  const b = el("button", { type: "button", class: "danger change", text: t(label) });
  let timer = null;
  const disarm = () => { b.classList.remove("armed"); b.textContent = t(label); };
  b.addEventListener("click", async () => {
    if (!b.classList.contains("armed")) {
      b.classList.add("armed");
      b.textContent = t(confirmKey || "confirm");
      timer = setTimeout(disarm, 5000);
      return;
    }
    clearTimeout(timer);
    b.disabled = true;
    try { await run(); } catch (e) { fail(e); }
    b.disabled = false;
    disarm();
  });
  return b;
}

function endButton(id, label) {
  return armed(label, async () => {
    await api("POST", "/admin/v1/sessions/" + encodeURIComponent(id) + "/end", { reason: t("end.reason") });
    refreshLive();
  }, "end.confirm");
}

async function setCap() {
  const n = parseInt($("cap-input").value, 10);
  try {
    await api("PATCH", "/admin/v1/slots/config", { cap: n });
    notice(t("done"), true);
    refreshLive();
  } catch (e) { fail(e); }
}

// --- staff and laptops ---

async function loadStaff() {
  try { users = (await api("GET", "/admin/v1/users")).users; } catch (e) { return fail(e); }
  renderStaff();
}

function renderStaff() {
  const q = $("staff-search").value.trim().toLowerCase();
  const shown = users.filter((u) => !q || [u.id, u.name, u.kana || "", u.department].some((v) => v.toLowerCase().includes(q))).slice(0, 200);
  $("staff-body").replaceChildren(...shown.map((u) => {
    const locked = u.locked_until && new Date(u.locked_until) > new Date();
    const state = u.disabled ? t("state.disabled") : locked ? t("state.locked") : t("state.active");
    const act = (label, fn) => el("button", { type: "button", class: "change", text: t(label), onclick: () => fn(u).catch(fail) });
    return el("tr", { "data-user": u.id }, el("td", { text: u.id }), el("td", { text: u.name }), el("td", { text: u.department }),
      el("td", { text: (u.roles || []).join(", ") }), el("td", { text: state }),
      el("td", {}, el("div", { class: "acts" },
        el("button", { type: "button", text: t("staff.showdevices"), onclick: () => showDevices(u.id).catch(fail) }),
        armed("staff.resetpw", () => resetPassword(u)), act("staff.resetotp", resetOTP), locked ? act("staff.unlock", unlock) : null)));
  }));
}

function secret(label, value) {
  const s = $("staff-secret");
  s.replaceChildren(el("span", { text: label }), el("code", { text: value }));
  s.hidden = false;
}

async function resetPassword(u) {
  const r = await api("POST", "/admin/v1/users/" + encodeURIComponent(u.id) + "/reset-password");
  secret(t("staff.temppw") + u.id + " ", r.temporary_password);
}
async function resetOTP(u) {
  await api("POST", "/admin/v1/users/" + encodeURIComponent(u.id) + "/reset-totp");
  secret(t("staff.otpdone"), u.id);
}
async function unlock(u) {
  await api("POST", "/admin/v1/users/" + encodeURIComponent(u.id) + "/unlock");
  secret(t("staff.unlocked"), u.id);
  loadStaff();
}

async function showDevices(userID) {
  const ds = (await api("GET", "/admin/v1/devices?user=" + encodeURIComponent(userID))).devices;
  $("devices").hidden = false;
  $("devices-user").textContent = userID;
  $("devices-body").replaceChildren(...ds.map((d) => el("tr", { "data-device": d.id }, el("td", { text: d.name }), el("td", { text: d.os }),
    el("td", { text: t("device." + d.status) }), el("td", { text: fmtTime(d.last_seen_at) }),
    el("td", {}, d.status === "revoked" ? null : armed("device.revoke", async () => {
      await api("POST", "/admin/v1/devices/" + encodeURIComponent(d.id) + "/revoke");
      secret(t("device.revoked"), d.name);
      showDevices(userID);
    })))));
}

// --- office PCs and pairing ---

async function loadPCs() {
  try { pcs = (await api("GET", "/admin/v1/terminals")).terminals; } catch (e) { return fail(e); }
  renderPCs();
}

function renderPCs() {
  const q = $("pc-search").value.trim().toLowerCase();
  const shown = pcs.filter((p) => !q || [p.name, p.department, p.user_id || ""].some((v) => v.toLowerCase().includes(q))).slice(0, 200);
  $("pc-body").replaceChildren(...shown.map((p) => {
    const input = el("input", { maxlength: "64", value: p.user_id || "", class: "change" });
    return el("tr", { "data-pc": p.id }, el("td", { text: p.name }), el("td", { text: p.address }), el("td", { text: p.department }),
      el("td", { text: p.pool ? t("pcs.pool") : p.user_id || "" }), el("td", { text: t("pcstate." + p.state) }),
      el("td", {}, el("div", { class: "acts" }, input, el("button", { type: "button", class: "change", text: t("pcs.pairbtn"), onclick: async () => {
        try {
          await api("POST", "/admin/v1/terminals/" + encodeURIComponent(p.id) + "/pair", { user_id: input.value.trim() });
          notice(t("pcs.paired") + p.name + " → " + input.value.trim(), true);
          loadPCs();
        } catch (e) { fail(e); }
      } }))));
  }));
}

// --- roster import: dry run first, apply exactly what was shown ---

function readFile(f) {
  return new Promise((ok, bad) => {
    const r = new FileReader();
    r.onload = () => ok(r.result.split(",")[1] || "");
    r.onerror = () => bad(r.error);
    r.readAsDataURL(f);
  });
}

function rosterRequest() {
  return { csv: rosterFile.csv, file_name: rosterFile.name, effective: $("roster-effective").value || undefined, disable_missing: $("roster-missing").checked };
}

async function rosterDryRun() {
  $("roster-apply").disabled = true;
  $("roster-result").hidden = true;
  const f = $("roster-file").files[0];
  if (!f) return notice(t("roster.nofile"));
  try {
    rosterFile = { name: f.name, csv: await readFile(f) };
    const rep = await api("POST", "/admin/v1/roster/dry-run", rosterRequest());
    renderRoster(rep);
    $("roster-apply").disabled = (rep.problems || []).length > 0;
    notice((rep.problems || []).length ? t("roster.problems") : "");
  } catch (e) { fail(e); }
}

function renderRoster(rep) {
  const box = $("roster-report");
  const probs = (rep.problems || []).map((p) => el("li", { class: "problem", text: (p.line ? t("roster.line") + " " + p.line + (p.header ? " [" + p.header + "]" : "") + ": " : "") + p.message }));
  const lines = (rep.lines || []).filter((l) => l.kind !== "unchanged");
  box.replaceChildren(...[
    el("p", { class: "counts", id: "roster-counts", text: t("roster.counts", rep.counts) }),
    probs.length ? el("ul", {}, ...probs) : null,
    lines.length ? el("table", {}, el("thead", {}, el("tr", {}, el("th", { text: t("roster.line") }), el("th", { text: t("col.user") }),
      el("th", { text: t("col.name") }), el("th", { text: t("roster.kind") }), el("th", { text: t("roster.changes") }))),
    el("tbody", {}, ...lines.slice(0, 500).map((l) => el("tr", {}, el("td", { text: l.line ? String(l.line) : "" }), el("td", { text: l.staff_id }),
      el("td", { text: l.name }), el("td", { class: "kind-" + l.kind, text: t("kind." + l.kind) }),
      el("td", { text: (l.changes || []).join(" / ") + (l.note ? " " + l.note : "") }))))) : null].filter((e) => e));
}

async function rosterApply() {
  if (!rosterFile) return;
  $("roster-apply").disabled = true;
  try {
    const imp = await api("POST", "/admin/v1/roster/imports", rosterRequest());
    const r = $("roster-result");
    r.textContent = (imp.status === "applied" ? t("roster.done") : t("roster.pending")) + " (" + imp.id + ")" +
      (imp.report ? " — " + t("roster.counts", imp.report.counts) : "");
    r.hidden = false;
    rosterFile = null;
    loadImports();
  } catch (e) { fail(e); $("roster-apply").disabled = false; }
}

async function loadImports() {
  let l;
  try { l = await api("GET", "/admin/v1/roster/imports"); } catch (e) { return fail(e); }
  $("roster-imports").replaceChildren(...(l.imports || []).slice(0, 50).map((i) => el("tr", {}, el("td", { text: fmtTime(i.created_at) }),
    el("td", { text: t("status." + i.status) }), el("td", { text: i.effective }), el("td", { text: i.file_name || "" }), el("td", { text: i.actor }))));
}

// --- operation log ---

function oplogQuery() {
  const p = new URLSearchParams();
  for (const [k, id] of [["user", "oplog-user"], ["type", "oplog-type"], ["from", "oplog-from"], ["to", "oplog-to"]]) {
    const v = $(id).value.trim();
    if (v) p.set(k, v);
  }
  return p;
}

async function searchOplog(more) {
  const p = oplogQuery();
  const ex = new URLSearchParams(p);
  ex.set("format", "csv");
  $("oplog-export").href = "/admin/v1/oplogs/export?" + ex.toString();
  p.set("limit", "100");
  if (more && oplogNext) p.set("cursor", oplogNext);
  let page;
  try { page = await api("GET", "/admin/v1/oplogs?" + p.toString()); } catch (e) { return fail(e); }
  oplogNext = page.next || "";
  $("oplog-more").hidden = !oplogNext;
  const rows = (page.events || []).map((e) => el("tr", {}, el("td", { text: fmtTime(e.at) }), el("td", { text: e.user_id }),
    el("td", { text: e.department || "" }), el("td", { text: e.type }), el("td", { text: e.target || "" }),
    el("td", { text: Object.entries(e.fields || {}).map(([k, v]) => k + "=" + v).join(" ") })));
  if (more) $("oplog-body").append(...rows);
  else $("oplog-body").replaceChildren(...rows);
}

// --- reports: drawn here from the JSON, on canvas ---

function reportParams() {
  const p = new URLSearchParams();
  p.set("period", $("report-period").value);
  for (const [k, id] of [["from", "report-from"], ["to", "report-to"], ["department", "report-dept"]]) {
    const v = $(id).value.trim();
    if (v) p.set(k, v);
  }
  return p;
}

async function loadReports() {
  const p = reportParams();
  $("report-csv").href = "/admin/v1/reports/usage.csv?" + p.toString();
  let rep;
  try { rep = await api("GET", "/admin/v1/reports/usage?" + p.toString()); } catch (e) { return fail(e); }
  const dept = $("report-dept").value.trim();
  const total = rep.rows.filter((r) => r.department === dept);
  barChart($("chart-peak"), total.map((r) => r.label), total.map((r) => r.peak_concurrent), { line: rep.cap, lineLabel: t("report.cap") + " " + rep.cap, color: "#1f5fa8" });
  barChart($("chart-hours"), total.map((r) => r.label), total.map((r) => r.hours_connected), { color: "#2e8b57" });
  $("report-body").replaceChildren(...rep.rows.map((r) => el("tr", {}, el("td", { text: r.label }), el("td", { text: r.department || t("report.all") }),
    el("td", { class: "num", text: String(r.peak_concurrent) }), el("td", { class: "num", text: r.hours_connected.toFixed(1) }),
    el("td", { class: "num", text: String(r.sessions) }), el("td", { class: "num", text: String(r.people) }),
    el("td", { class: "num", text: r.sessions_per_person.toFixed(2) }), el("td", { class: "num", text: String(r.queued) }),
    el("td", { class: "num", text: fmtWait(r.wait_mean_seconds) }), el("td", { class: "num", text: fmtWait(r.wait_max_seconds) }),
    el("td", { class: "num", text: String(r.gave_up) }))));
  if (!$("whatif-cap").dataset.touched) $("whatif-cap").value = rep.cap || 140;
}

async function runWhatIf() {
  const p = reportParams();
  p.delete("period");
  p.set("cap", $("whatif-cap").value);
  $("whatif-csv").href = "/admin/v1/reports/what-if.csv?" + p.toString();
  let w;
  try { w = await api("GET", "/admin/v1/reports/what-if?" + p.toString()); } catch (e) { return fail(e); }
  let s = t("whatif.summary", { cap: w.cap, replayed: w.replayed, queued: w.queued, mean: fmtWait(w.wait_mean_seconds),
    max: fmtWait(w.wait_max_seconds), peakq: w.peak_queue, rqueued: w.recorded.queued });
  if (w.not_replayed) s += " " + t("whatif.notreplayed", { n: w.not_replayed });
  $("whatif-summary").textContent = s;
  barChart($("chart-whatif"), w.days.map((d) => d.label), w.days.map((d) => d.queued), { color: "#b3261e", title: t("whatif.bars") });
}

// niceStep rounds a grid step up to 1, 2 or 5 times a power of ten.
function niceStep(raw) {
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return Math.max(m * p, 1);
  return 10 * p;
}

// barChart draws labelled bars, with an optional horizontal line (the cap).
function barChart(cv, labels, values, o) {
  const g = cv.getContext("2d");
  const W = cv.width, H = cv.height, L = 48, R = 12, TOP = 22, B = 34;
  g.clearRect(0, 0, W, H);
  g.font = "12px sans-serif";
  g.fillStyle = "#1d2733";
  if (o.title) g.fillText(o.title, L, 14);
  if (!values.length) { g.fillStyle = "#5b6775"; g.fillText(t("report.nodata"), L, H / 2); cv.dataset.bars = "0"; return; }
  const step = niceStep(Math.max(1, o.line || 0, ...values) * 1.05 / 4);
  const top = step * Math.ceil(Math.max(1, o.line || 0, ...values) * 1.05 / step);
  const y = (v) => TOP + (H - TOP - B) * (1 - v / top);
  g.strokeStyle = "#d5dbe2";
  g.fillStyle = "#5b6775";
  for (let v = 0; v <= top + step / 2; v += step) {
    g.beginPath(); g.moveTo(L, y(v)); g.lineTo(W - R, y(v)); g.stroke();
    g.fillText(String(Math.round(v * 100) / 100), 4, y(v) + 4);
  }
  const bw = (W - L - R) / values.length;
  const every = Math.ceil(values.length / 16);
  values.forEach((v, i) => {
    g.fillStyle = o.color;
    g.fillRect(L + i * bw + bw * 0.15, y(v), bw * 0.7, y(0) - y(v));
    if (i % every === 0) {
      g.fillStyle = "#5b6775";
      g.fillText(labels[i].length > 7 ? labels[i].slice(5) : labels[i], L + i * bw + 2, H - B + 16);
    }
  });
  if (o.line) {
    g.strokeStyle = "#b3261e";
    g.setLineDash([6, 4]);
    g.beginPath(); g.moveTo(L, y(o.line)); g.lineTo(W - R, y(o.line)); g.stroke();
    g.setLineDash([]);
    g.fillStyle = "#b3261e";
    g.fillText(o.lineLabel, W - R - 90, y(o.line) - 5);
  }
  cv.dataset.bars = String(values.length); // for tests and for people reading the DOM
}

// --- idle sign-out: user activity only; the broker enforces it too ---

function activity() { lastActivity = Date.now(); }
setInterval(() => {
  if (session && Date.now() - lastActivity > session.idle_seconds * 1000) signOut(t("signin.idle"));
}, 5000);

document.addEventListener("DOMContentLoaded", async () => {
  for (const ev of ["click", "keydown"]) document.addEventListener(ev, activity, true);
  $("lang").addEventListener("click", () => {
    lang = lang === "ja" ? "en" : "ja";
    localStorage.setItem("zaitaku.lang", lang);
    applyLang();
    bcpActive = null; // the switch is drawn again in the new language
    if (session) showTab(currentTab); // what was drawn in the other language
  });
  $("signin-btn").addEventListener("click", signIn);
  $("otp").addEventListener("keydown", (e) => { if (e.key === "Enter") signIn(); });
  $("signout").addEventListener("click", () => signOut());
  for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("cap-set").addEventListener("click", setCap);
  $("staff-search").addEventListener("input", renderStaff);
  $("staff-reload").addEventListener("click", loadStaff);
  $("pc-search").addEventListener("input", renderPCs);
  $("pc-reload").addEventListener("click", loadPCs);
  $("roster-dryrun").addEventListener("click", rosterDryRun);
  $("roster-apply").addEventListener("click", rosterApply);
  // Apply sends what the dry run showed: any change of file or option
  // asks for a new dry run first.
  for (const id of ["roster-file", "roster-effective", "roster-missing"]) {
    $(id).addEventListener("change", () => { $("roster-apply").disabled = true; rosterFile = null; });
  }
  $("oplog-search").addEventListener("click", () => searchOplog(false));
  $("oplog-more").addEventListener("click", () => searchOplog(true));
  $("report-load").addEventListener("click", loadReports);
  $("whatif-run").addEventListener("click", runWhatIf);
  $("whatif-cap").addEventListener("input", () => { $("whatif-cap").dataset.touched = "1"; });
  applyLang();
  const carried = sessionStorage.getItem("zaitaku.notice") || "";
  sessionStorage.removeItem("zaitaku.notice");
  try {
    const r = await fetch("/console/v1/session", { credentials: "same-origin" });
    if (r.ok) return started(await r.json());
  } catch (e) { /* not signed in */ }
  showSignin(carried);
});
