// One beckon device: MQTT 5 over websocket, speaking docs/protocol.md.
// It uses the global `mqtt` of vendor/mqtt.min.js.

// escapeID writes one part of a client ID as the protocol wants: %, /, +,
// # and control bytes as %XX (upper-case hex) of their UTF-8 bytes.
export function escapeID(id) {
  let out = "";
  for (const b of new TextEncoder().encode(id)) {
    if (b === 0x25 || b === 0x2f || b === 0x2b || b === 0x23 || b < 0x20 || b === 0x7f) {
      out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
    } else {
      out += String.fromCharCode(b);
    }
  }
  // The bytes left alone are re-read as UTF-8, so that names stay readable.
  return new TextDecoder().decode(Uint8Array.from(out, (c) => c.charCodeAt(0)));
}

const requestTimeoutMs = 10000;

// Device dispatches:
//   "status"  detail "connecting" | "online" | "reconnecting"
//   "session" detail {first, resumed, expiry}: a connection's Session
//             notice (docs/protocol.md "Sessions and sequence numbers").
//             resumed: nothing of the time away is lost (REM-5); else a new
//             session, whose pending invitations come again (SYN-1)
//   "event"   detail: one event of the protocol, in order, each once
export class Device extends EventTarget {
  // expiry: the seconds the session is to outlive a lost connection.
  constructor({ url, user, device, token, expiry }) {
    super();
    this.user = user;
    this.device = device;
    this.cid = escapeID(user) + "/" + escapeID(device);
    this.topic = (t) => `beckon/v1/${this.cid}/${t}`;
    this.pending = new Map(); // correlation ID -> {resolve, reject, timer}
    this.next = 1;
    this.lastSeq = 0; // of the session: kept across a resume
    this.connections = 0; // that got a Session notice
    this.ready = null; // a promise of the current session
    this.client = mqtt.connect(url, {
      protocolVersion: 5,
      clientId: this.cid,
      username: user,
      password: token,
      clean: true, // a page load is a new session; its reconnections resume it
      properties: { sessionExpiryInterval: expiry },
      resubscribe: false, // subscribe runs on every connection
      keepalive: 30,
      reconnectPeriod: 1000,
      connectTimeout: 10000,
    });
    this.setStatus("connecting");
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    this.client.on("connect", () => {
      // mqtt.js builds each reconnection's CONNECT from these options.
      this.client.options.clean = false;
      this.subscribe();
    });
    this.client.on("close", () => this.lost());
    this.client.on("message", (topic, payload) => this.message(topic, payload));
  }

  setStatus(s) {
    this.status = s;
    this.dispatchEvent(new CustomEvent("status", { detail: s }));
  }

  // subscribe joins the session: the server starts or resumes it once
  // the events subscription is granted, and says which in the Session
  // notice.
  subscribe() {
    this.client.subscribe([this.topic("reply"), this.topic("events")], { qos: 1 }, (err) => {
      if (err) this.client.end(true);
    });
  }

  lost() {
    if (this.status !== "online") return;
    this.setStatus("reconnecting");
    this.ready = new Promise((resolve) => (this.markReady = resolve));
  }

  started({ resumed, expiry }) {
    if (!resumed) this.lastSeq = 0; // a new session counts from 1
    this.connections++;
    this.setStatus("online");
    this.markReady();
    this.dispatchEvent(new CustomEvent("session", { detail: { first: this.connections === 1, resumed, expiry } }));
  }

  // drop closes the websocket as a network failure would; the client
  // reconnects by itself and resumes the session.
  drop() {
    this.client.stream?.destroy();
  }

  message(topic, payload) {
    let msg;
    try {
      msg = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      return;
    }
    if (topic === this.topic("reply")) {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.code === 0) p.resolve(msg.result ?? {});
      else p.reject(Object.assign(new Error(msg.message || `code ${msg.code}`), { code: msg.code }));
      return;
    }
    if (msg.type === "Session") {
      this.started(msg);
      return;
    }
    // Sent again: a QoS 1 duplicate, or not acknowledged before the
    // connection was lost.
    if (msg.seq <= this.lastSeq) return;
    this.lastSeq = msg.seq;
    this.dispatchEvent(new CustomEvent("event", { detail: msg }));
  }

  // request sends op with args and resolves to the result, or rejects with
  // an Error whose code is the SDK code.
  async request(op, args) {
    await this.ready;
    const id = `${this.device}-${this.next++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(Object.assign(new Error(`no reply to ${op} within ${requestTimeoutMs / 1000} s`), { code: -1 }));
      }, requestTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.client.publish(this.topic("req"), JSON.stringify({ id, op, args }), {
        qos: 1,
        properties: {
          responseTopic: this.topic("reply"),
          correlationData: new TextEncoder().encode(id), // mqtt.Buffer is not defined in browsers
        },
      });
    });
  }
}
