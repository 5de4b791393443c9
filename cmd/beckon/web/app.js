// The demo page: pick a name, see who is online, call them, ring, answer.
// Every call is a card; its data-state says where it is:
//   incoming: ringing, stale (a new session: is it still ringing?), answered,
//             declined, cancelled, missed, gone (ended while offline)
//   outgoing: calling, answered, declined, unanswered, cancelled, gone
// and its data-events the types of the events it got, in order.
import { Device } from "./wire.js";
import { startRinger, stopRinger, unlockAudio } from "./ring.js";

const $ = (id) => document.getElementById(id);
const demoGroup = "demo";
const graceMs = 3000; // past a call's deadline, when a caller who lost events gives up on it
const endedMs = 30000; // how long an ended call stays on screen
const reconnectedMs = 5000; // how long "reconnected" shows before "online"
// The seconds a session outlives a lost connection (the server caps it);
// ?expiry=0 ends it with the connection, so that a reconnection is a new
// session.
const defaultExpiry = 120;

const me = { user: "", device: "" };
let dev = null;
const calls = new Map(); // inviteID -> call
const early = new Map(); // inviteID -> events that came before the invite's reply
const selected = new Set(); // user names ticked in the online list

// el makes an element; attrs set attributes, except "on*" (listeners) and
// "text" (textContent). Children are elements, strings or nothing.
function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  e.append(...kids.filter((k) => k !== null && k !== undefined && k !== false));
  return e;
}

// The call's data is {"call": "video" | "audio"}; other devices may send
// anything, shown as it is.
function media(data) {
  try {
    const o = JSON.parse(data);
    if (o && typeof o.call === "string") return o.call;
  } catch {}
  return data;
}
function mediaLabel(data) {
  const m = media(data);
  return m === "video" ? "Video call" : m === "audio" ? "Audio call" : m || "Call";
}

function deviceID() {
  // A new device on each page load: a duplicated tab must not share its
  // device ID, or the two would take the session from each other forever.
  const b = crypto.getRandomValues(new Uint8Array(3));
  return "tab-" + [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

// ---- joining

function sessionExpiry() {
  const v = new URLSearchParams(location.search).get("expiry");
  const n = Number(v);
  return v !== null && Number.isInteger(n) && n >= 0 ? n : defaultExpiry;
}

async function join(name) {
  const res = await fetch("demo/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user: name }),
  });
  if (!res.ok) throw new Error((await res.text()).trim() || res.statusText);
  const { token } = await res.json();
  me.user = name;
  me.device = deviceID();
  const url = new URL("mqtt", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const expiry = sessionExpiry();
  dev = new Device({ url: url.href, user: name, device: me.device, token, expiry });
  dev.addEventListener("status", (e) => showStatus(e.detail));
  dev.addEventListener("session", (e) => onSession(e.detail));
  dev.addEventListener("event", (e) => onEvent(e.detail));
  $("join").hidden = true;
  $("app").hidden = false;
  $("me").hidden = false;
  $("me-name").textContent = `${name} · ${me.device}`;
  document.title = `${name} · beckon`;
  const query = new URLSearchParams({ user: name });
  if (expiry !== defaultExpiry) query.set("expiry", expiry);
  history.replaceState(null, "", "?" + query);
  pollOnline();
  setInterval(pollOnline, 2000);
  setInterval(tick, 250);
}

let reconnectedTimer = 0;

function showStatus(s, text) {
  document.body.dataset.conn = s;
  $("conn").textContent = text ?? { connecting: "connecting…", online: "online", reconnecting: "reconnecting…" }[s];
  clearTimeout(reconnectedTimer);
}

// onSession takes a connection's Session notice. body's data-session says
// which it was (new, resumed) and data-connections how many there were.
async function onSession({ first, resumed, expiry }) {
  document.body.dataset.session = resumed ? "resumed" : "new";
  document.body.dataset.connections = String(dev.connections);
  $("me").title = expiry > 0
    ? `This tab's session outlives a lost connection for ${expiry} s: nothing is missed on reconnecting within that time.`
    : "This tab's session ends with its connection.";
  loadRecords();
  if (first) return;
  showStatus("online", "reconnected");
  reconnectedTimer = setTimeout(() => showStatus(dev.status), reconnectedMs);
  // Resumed: what happened meanwhile comes now, in order (REM-5).
  if (resumed) return;
  // A new session (REM-6): what happened meanwhile is gone. Calls still
  // ringing for us come again (SYN-1), and listOpen (QRY-1) says which
  // calls are still open.
  $("restarted").hidden = false;
  for (const c of calls.values()) {
    if (c.dir === "in" && c.state === "ringing") c.state = "stale";
    if (c.dir === "out" && c.state === "calling") c.offline = true;
  }
  render();
  await reconcile();
}

// reconcile updates the calls on screen from listOpen. If it fails, the
// calls not re-delivered are taken as ended, and the caller's own once
// their deadline has passed (see tick).
async function reconcile() {
  let open;
  try {
    open = new Map((await dev.request("listOpen", {})).invitations.map((i) => [i.inviteID, i]));
  } catch {
    for (const c of calls.values()) if (c.state === "stale") end(c, "gone");
    render();
    return;
  }
  for (const c of calls.values()) {
    if (c.ended) continue;
    const inv = open.get(c.id);
    if (!inv || (c.dir === "in" && !inv.incoming)) {
      end(c, "gone");
      continue;
    }
    c.data = inv.data;
    inv.invitees.forEach((u, i) => (c.states[u] = inv.states[i]));
    if (c.state === "stale") c.state = "ringing";
    c.offline = false;
  }
  render();
}

// ---- events (docs/protocol.md "Events")

function onEvent(ev) {
  let c = calls.get(ev.inviteID);
  if (ev.type === "ReceiveNewInvitation") {
    if (!c || c.ended) {
      c = { id: ev.inviteID, dir: "in", inviter: ev.inviter, group: ev.groupID, invitees: ev.invitees, states: {}, events: [] };
      for (const u of ev.invitees) c.states[u] = "pending";
      calls.set(c.id, c);
    }
    c.events.push(ev.type);
    c.data = ev.data;
    c.state = "ringing";
    render();
    return;
  }
  if (!c) {
    // An outgoing call whose invite reply is still on its way.
    const list = early.get(ev.inviteID) ?? [];
    list.push(ev);
    early.set(ev.inviteID, list);
    if (early.size > 50) early.delete(early.keys().next().value);
    return;
  }
  apply(c, ev);
  render();
}

function apply(c, ev) {
  c.events.push(ev.type);
  switch (ev.type) {
    case "InvitationModified":
      c.data = ev.data;
      c.changed = true;
      break;
    case "InviteeAccepted":
    case "InviteeRejected": {
      const st = ev.type === "InviteeAccepted" ? "accepted" : "rejected";
      c.states[ev.invitee] = st;
      if (c.dir === "in" && ev.invitee === me.user) end(c, st === "accepted" ? "answered" : "declined");
      break;
    }
    case "InvitationCancelled":
      for (const u in c.states) if (c.states[u] === "pending") c.states[u] = "cancelled";
      end(c, "cancelled");
      break;
    case "InvitationTimeout":
      for (const u of ev.invitees) if (c.states[u] === "pending") c.states[u] = "timed_out";
      if (c.dir === "in") end(c, "missed");
      break;
  }
  if (c.dir === "out" && !c.ended && !Object.values(c.states).includes("pending")) {
    const st = Object.values(c.states);
    end(c, st.includes("accepted") ? "answered" : st.every((s) => s === "rejected") ? "declined" : "unanswered");
  }
}

function end(c, state) {
  if (c.ended) return;
  c.ended = true;
  c.state = state;
  c.endedAt = Date.now();
  setTimeout(loadRecords, 200);
}

// ---- actions

async function act(c, op, data = "") {
  c.busy = true;
  c.error = "";
  // Our own answer's event may come before the reply: say "here" first.
  const here = { accept: "answered", reject: "declined" }[op];
  if (here) c.here = here;
  render();
  try {
    await dev.request(op, { inviteID: c.id, data });
    if (op === "modify") c.data = data;
  } catch (e) {
    if (here) c.here = undefined;
    c.error = e.message;
  }
  c.busy = false;
  render();
}

async function placeCall() {
  const invitees = [...selected].sort();
  const data = JSON.stringify({ call: $("media").value });
  const timeout = Number($("timeout").value);
  $("call").disabled = true;
  $("call-error").hidden = true;
  try {
    const { inviteID } =
      invitees.length === 1
        ? await dev.request("invite", { invitee: invitees[0], data, timeout })
        : await dev.request("inviteInGroup", { group: demoGroup, invitees, data, timeout });
    const c = { id: inviteID, dir: "out", inviter: me.user, group: invitees.length > 1 ? demoGroup : "",
      invitees, states: {}, events: [], data, state: "calling", deadline: Date.now() + timeout * 1000 };
    for (const u of invitees) c.states[u] = "pending";
    calls.set(inviteID, c);
    for (const ev of early.get(inviteID) ?? []) apply(c, ev);
    early.delete(inviteID);
  } catch (e) {
    $("call-error").textContent = `Could not call: ${e.message}`;
    $("call-error").hidden = false;
  }
  callButton();
  render();
}

// ---- rendering

const inviteeWords = { pending: "ringing", accepted: "answered", rejected: "declined", timed_out: "no answer", cancelled: "cancelled" };

function statusText(c) {
  if (c.error) return c.error;
  if (c.dir === "in") {
    switch (c.state) {
      case "ringing": return c.changed ? `Ringing… changed by ${c.inviter}: ${mediaLabel(c.data)}` : "Ringing…";
      case "stale": return "Reconnected: is it still ringing?";
      case "answered": return c.here === "answered" ? "Answered" : "Answered on another device";
      case "declined": return c.here === "declined" ? "Declined" : "Declined on another device";
      case "cancelled": return `Cancelled by ${c.inviter}`;
      case "missed": return "Missed";
      case "gone": return "Ended while this tab was offline: see the call log";
    }
  }
  const answered = c.invitees.filter((u) => c.states[u] === "accepted");
  switch (c.state) {
    case "calling": {
      const left = Math.max(0, Math.ceil((c.deadline - Date.now()) / 1000));
      return `Calling… ${left} s` + (c.offline ? " (reconnected: is it still ringing?)" : "");
    }
    case "answered": return `Answered by ${answered.join(", ")}`;
    case "declined": return "Declined";
    case "unanswered": return "No answer";
    case "cancelled": return "Cancelled";
    case "gone": return "Ended while this tab was offline: see the call log";
  }
  return c.state;
}

function card(c) {
  const ringing = c.dir === "in" && c.state === "ringing";
  const title = c.dir === "in"
    ? (c.group ? `${c.inviter} · group call` : c.inviter)
    : (c.group ? `Group call: ${c.invitees.join(", ")}` : c.invitees[0]);
  const others = c.invitees.length > 1 || c.dir === "out";
  const actions = [];
  if (ringing) {
    actions.push(el("button", { class: "accept", "data-act": "accept", disabled: c.busy, onclick: () => act(c, "accept") }, "Accept"));
    actions.push(el("button", { class: "reject", "data-act": "reject", disabled: c.busy, onclick: () => act(c, "reject") }, "Decline"));
  } else if (c.dir === "out" && c.state === "calling") {
    const other = media(c.data) === "audio" ? "video" : "audio";
    actions.push(el("button", { "data-act": "modify", disabled: c.busy,
      onclick: () => act(c, "modify", JSON.stringify({ call: other })) }, other === "audio" ? "Switch to audio only" : "Switch to video"));
    actions.push(el("button", { class: "reject", "data-act": "cancel", disabled: c.busy, onclick: () => act(c, "cancel") }, "Cancel"));
  } else if (c.ended) {
    actions.push(el("button", { class: "link", "data-act": "dismiss", onclick: () => { calls.delete(c.id); render(); } }, "Dismiss"));
  }
  return el("article", { class: `call ${c.dir}`, id: `call-${c.id}`, "data-dir": c.dir, "data-state": c.state,
    "data-events": c.events.join(" ") },
    el("div", { class: "call-head" },
      el("span", { class: "dir", text: c.dir === "in" ? "Incoming" : "Outgoing" }),
      el("span", { class: "media", "data-role": "media", text: mediaLabel(c.data) })),
    el("div", { class: "who", text: title }),
    others && el("ul", { class: "invitees" }, ...c.invitees.map((u) =>
      el("li", { "data-invitee": u, "data-state": c.states[u], text: `${u === me.user ? "you" : u}: ${inviteeWords[c.states[u]]}` }))),
    el("div", { class: "status", "data-role": "status", text: statusText(c) }),
    el("div", { class: "actions" }, ...actions));
}

function render() {
  const now = Date.now();
  for (const c of calls.values()) if (c.ended && now - c.endedAt > endedMs) calls.delete(c.id);
  const list = [...calls.values()].reverse();
  $("calls").replaceChildren(...list.map(card));
  const ringer = list.find((c) => c.dir === "in" && c.state === "ringing");
  if (ringer) startRinger(`${ringer.inviter} is calling`);
  else stopRinger(me.user ? `${me.user} · beckon` : "beckon web demo");
}

// tick redraws the countdowns.
function tick() {
  const calling = [...calls.values()].filter((c) => c.state === "calling");
  for (const c of calling) {
    const s = document.querySelector(`#call-${CSS.escape(c.id)} [data-role=status]`);
    if (s) s.textContent = statusText(c);
    // With events lost while offline, the timeout may never be heard.
    if (c.offline && Date.now() > c.deadline + graceMs) {
      end(c, "unanswered");
      render();
    }
  }
}

// ---- who is online

async function pollOnline() {
  let users = [];
  try {
    const res = await fetch("demo/online", { cache: "no-store" });
    users = (await res.json()).users.filter((u) => u.user !== me.user);
  } catch {
    return;
  }
  const names = new Set(users.map((u) => u.user));
  for (const u of selected) if (!names.has(u)) selected.delete(u);
  $("online").replaceChildren(...users.map((u) =>
    el("li", {},
      el("label", {},
        el("input", { type: "checkbox", value: u.user, checked: selected.has(u.user),
          onchange: (e) => { e.target.checked ? selected.add(u.user) : selected.delete(u.user); callButton(); } }),
        el("span", { class: "name", text: u.user }),
        el("small", { text: u.devices === 1 ? "1 device" : `${u.devices} devices` })))));
  $("nobody").hidden = users.length > 0;
  callButton();
}

function callButton() {
  const n = selected.size;
  $("call").disabled = n === 0;
  $("call").textContent = n === 0 ? "Call" : n === 1 ? `Call ${[...selected][0]}` : `Group call (${n})`;
}

// ---- call log (REC-1, REC-2)

const outcomeWords = { accepted: "answered", rejected: "declined", missed: "missed", cancelled: "cancelled",
  answered: "answered", declined: "declined", unanswered: "no answer" };

async function loadRecords() {
  const note = $("records-note");
  let records;
  try {
    records = (await dev.request("records", { limit: 20 })).records ?? [];
  } catch (e) {
    note.textContent = `The call log could not be read: ${e.message}`;
    note.hidden = false;
    return;
  }
  note.textContent = "No calls yet.";
  note.hidden = records.length > 0;
  $("records").replaceChildren(...records.map((r) => {
    const out = r.inviter === me.user;
    const peers = out ? r.invitees.join(", ") : r.inviter;
    const when = new Date(r.closed).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    return el("li", { "data-outcome": r.outcome, "data-invite": r.inviteID },
      el("span", { class: "arrow", title: out ? "outgoing" : "incoming", text: out ? "↗" : "↙" }),
      el("span", { class: "peer", text: peers + (r.groupID ? " (group)" : "") }),
      el("span", { class: "outcome", text: outcomeWords[r.outcome] ?? r.outcome }),
      el("time", { datetime: r.closed, text: when }));
  }));
}

// ---- start

$("join").addEventListener("submit", async (e) => {
  e.preventDefault();
  unlockAudio();
  const name = $("name").value.trim();
  $("join-btn").disabled = true;
  try {
    await join(name);
  } catch (err) {
    $("join-error").textContent = `Could not join as "${name}": ${err.message}`;
    $("join-error").hidden = false;
    $("join-btn").disabled = false;
  }
});
$("call").addEventListener("click", placeCall);
$("drop").addEventListener("click", () => dev?.drop());
$("restarted-dismiss").addEventListener("click", () => ($("restarted").hidden = true));
document.addEventListener("pointerdown", unlockAudio);

const asked = new URLSearchParams(location.search).get("user");
if (asked) {
  $("name").value = asked;
  $("join").requestSubmit();
}
