// CTI client: one WebSocket to /cti speaking the versioned JSON envelope
// (see agentdesk/PROTOCOL.md). Commands return promises resolved by the
// matching "ok" reply and rejected by "error"; events are dispatched to
// listeners. The session token is sent in an "auth" message as soon as the
// socket opens, never in the URL. Reconnects with backoff (at once after
// 4003, role changed; never after 4401, session ended, or 4002, replaced);
// the server answers every (re)connect with hello + snapshots, so the UI
// redraws from those.

export class CTI extends EventTarget {
  constructor({ token = '', client = 'desktop' } = {}) {
    super();
    this.token = token;
    this.client = client;
    this.seq = 0;
    this.pending = new Map();
    this.ws = null;
    this.backoff = 500;
    this.closedByUser = false;
    this.connected = false;
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const qs = this.client !== 'desktop' ? '?client=' + encodeURIComponent(this.client) : '';
    return `${proto}//${location.host}/cti${qs}`;
  }

  // connect opens the socket; it resolves once the socket is open.
  connect() {
    this.closedByUser = false;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url());
      this.ws = ws;
      ws.onopen = () => {
        this.connected = true;
        this.backoff = 500;
        // A bad token is answered with an error and close code 4401.
        if (this.token) this.send('auth', { token: this.token }).catch(() => {});
        this.emit('open', {});
        resolve();
      };
      ws.onmessage = (ev) => { if (this.ws === ws) this.onMessage(ev.data); };
      ws.onerror = () => reject(new Error('connection failed'));
      ws.onclose = (ev) => {
        if (this.ws !== ws) return; // an older socket of this client
        this.connected = false;
        for (const [, p] of this.pending) p.reject(Object.assign(new Error('connection lost'), { code: 'disconnected' }));
        this.pending.clear();
        this.emit('close', { code: ev.code, reason: ev.reason });
        if (this.closedByUser || ev.code === 4401 || ev.code === 4002) return;
        const wait = ev.code === 4001 || ev.code === 4003 ? 100 : this.backoff; // resync; role changed
        this.backoff = Math.min(this.backoff * 2, 10000);
        setTimeout(() => this.connect().catch(() => {}), wait);
      };
    });
  }

  close() {
    this.closedByUser = true;
    if (this.ws) this.ws.close(1000, 'bye');
  }

  onMessage(text) {
    let env;
    try { env = JSON.parse(text); } catch { return; }
    if ((env.type === 'ok' || env.type === 'error') && env.id && this.pending.has(env.id)) {
      const p = this.pending.get(env.id);
      this.pending.delete(env.id);
      if (env.type === 'ok') p.resolve(env.data ?? {});
      else p.reject(Object.assign(new Error(env.data?.message || 'error'), env.data || {}));
      return;
    }
    this.emit(env.type, env.data ?? {});
    this.emit('*', env);
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  on(type, fn) {
    this.addEventListener(type, (e) => fn(e.detail));
  }

  // send issues a command and resolves with the ok reply's data. While
  // the socket is reconnecting the command waits for it (up to 5 s), so
  // that a click during a reconnect is not lost.
  send(type, data) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      if (this.closedByUser || !this.ws || type === 'auth' || type === 'login') {
        return Promise.reject(Object.assign(new Error('not connected'), { code: 'disconnected' }));
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          this.removeEventListener('open', onOpen);
          reject(Object.assign(new Error('not connected'), { code: 'disconnected' }));
        }, 5000);
        const onOpen = () => {
          clearTimeout(timer);
          // After the auth message the connection is the session's again.
          setTimeout(() => this.send(type, data).then(resolve, reject), 0);
        };
        this.addEventListener('open', onOpen, { once: true });
      });
    }
    const id = 'c' + (++this.seq);
    const env = { v: 1, type, id };
    if (data !== undefined) env.data = data;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify(env));
    });
  }
}

// fmtDuration renders seconds as m:ss or h:mm:ss.
export function fmtDuration(sec) {
  sec = Math.max(0, Math.floor(sec));
  const h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
  const pad = (n) => String(n).padStart(2, '0');
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

// el builds a DOM element: el('li', {class: 'x'}, 'text', child…).
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k === 'style') Object.assign(e.style, v); // CSSOM: allowed by the page's CSP
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}
