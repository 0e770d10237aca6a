// Switchboard chat widget. One <script src="https://HOST/chat/widget.js" defer></script>
// adds a launcher and a chat panel to any page. No framework, no build step; CSP-friendly:
// no inline script, no eval, styles set through CSSOM only, and every text from the
// server or the customer is inserted as a text node (chat text is data, never markup).
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || window.__switchboardChat) return;
  window.__switchboardChat = true;
  var base = new URL(script.src, location.href);
  var wsURL = (base.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + base.host + base.pathname.replace(/widget\.js$/, 'ws');
  var pageMode = script.dataset.open === 'page';
  var storeKey = 'switchboard.chat:' + base.host;

  var S = {
    host: { position: 'fixed', right: '20px', bottom: '20px', zIndex: '2147483000', fontFamily: 'system-ui, sans-serif', fontSize: '14px' },
    hostPage: { position: 'fixed', inset: '0', fontFamily: 'system-ui, sans-serif', fontSize: '15px' },
    launcher: { width: '56px', height: '56px', borderRadius: '28px', border: 'none', background: '#2457c5', color: '#fff', fontSize: '24px', cursor: 'pointer', boxShadow: '0 2px 8px rgba(0,0,0,.3)' },
    panel: { width: '340px', height: '480px', display: 'flex', flexDirection: 'column', background: '#fff', color: '#222', borderRadius: '10px', boxShadow: '0 4px 16px rgba(0,0,0,.3)', overflow: 'hidden', marginBottom: '10px' },
    panelPage: { width: '100%', height: '100%', display: 'flex', flexDirection: 'column', background: '#fff', color: '#222' },
    header: { display: 'flex', alignItems: 'center', gap: '8px', padding: '10px 12px', background: '#2457c5', color: '#fff' },
    title: { flex: '1', fontWeight: '600' },
    headBtn: { background: 'transparent', color: '#fff', border: '1px solid rgba(255,255,255,.6)', borderRadius: '4px', cursor: 'pointer', padding: '2px 8px' },
    list: { flex: '1', overflowY: 'auto', padding: '10px', display: 'flex', flexDirection: 'column', gap: '6px', background: '#f5f6f8' },
    bubble: { maxWidth: '80%', padding: '7px 10px', borderRadius: '10px', whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' },
    mine: { alignSelf: 'flex-end', background: '#2457c5', color: '#fff' },
    theirs: { alignSelf: 'flex-start', background: '#fff', border: '1px solid #dde' },
    system: { alignSelf: 'center', color: '#667', fontSize: '12px', textAlign: 'center' },
    tick: { fontSize: '11px', opacity: '.8', marginLeft: '6px' },
    buttons: { display: 'flex', flexWrap: 'wrap', gap: '4px', marginTop: '6px' },
    quick: { border: '1px solid #2457c5', color: '#2457c5', background: '#fff', borderRadius: '12px', padding: '3px 10px', cursor: 'pointer' },
    status: { padding: '2px 12px', fontSize: '12px', color: '#556', minHeight: '16px' },
    form: { display: 'flex', flexDirection: 'column', gap: '6px', padding: '12px' },
    input: { padding: '6px 8px', border: '1px solid #ccd', borderRadius: '4px', font: 'inherit' },
    compose: { display: 'flex', gap: '6px', padding: '8px', borderTop: '1px solid #e3e5ea' },
    textarea: { flex: '1', resize: 'none', height: '38px', padding: '6px 8px', border: '1px solid #ccd', borderRadius: '4px', font: 'inherit' },
    send: { background: '#2457c5', color: '#fff', border: 'none', borderRadius: '4px', padding: '0 14px', cursor: 'pointer' }
  };

  // el builds an element: attributes, CSSOM styles, listeners, and children as text nodes.
  function el(tag, attrs) {
    var e = document.createElement(tag);
    attrs = attrs || {};
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k === 'style') Object.assign(e.style, v);
      else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }
  function mix() { return Object.assign.apply(null, [{}].concat([].slice.call(arguments))); }

  function load() { try { return JSON.parse(localStorage.getItem(storeKey)) || {}; } catch (e) { return {}; } }
  function save() { try { localStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { /* private mode */ } }
  function newID() { return (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2)); }

  var state = load(); // {token, lastSeq}
  state.lastSeq = state.lastSeq || 0;
  var shown = {};      // seq → bubble element
  var pending = {};    // client_id → {text, row, tick, seq}
  var outbox = [];     // client_ids to (re)send when connected
  var sock = null, backoff = 1000, timer = null, typingTimer = null, lastTyping = 0, ended = false;

  var hostEl = el('div', { style: pageMode ? S.hostPage : S.host });
  var root = hostEl.attachShadow ? hostEl.attachShadow({ mode: 'open' }) : hostEl;
  var list = el('div', { style: S.list, role: 'log', 'aria-live': 'polite' });
  var status = el('div', { style: S.status });
  var textarea = el('textarea', { style: S.textarea, maxlength: '4000', placeholder: 'Write a message…', 'aria-label': 'Message', oninput: onTyping, onkeydown: onKey });
  var compose = el('form', { style: S.compose, onsubmit: function (ev) { ev.preventDefault(); sendText(); } },
    textarea, el('button', { style: S.send, type: 'submit' }, 'Send'));
  var fName = el('input', { style: S.input, placeholder: 'Name (optional)', maxlength: '200', autocomplete: 'name' });
  var fEmail = el('input', { style: S.input, placeholder: 'Email (optional)', type: 'email', maxlength: '254', autocomplete: 'email' });
  var fPhone = el('input', { style: S.input, placeholder: 'Phone (optional)', type: 'tel', maxlength: '32', autocomplete: 'tel' });
  var form = el('form', { style: S.form, onsubmit: function (ev) { ev.preventDefault(); start(); } },
    el('div', {}, 'Hello! Tell us who you are, or just start.'), fName, fEmail, fPhone,
    el('button', { style: S.send, type: 'submit' }, 'Start chat'));
  var endBtn = el('button', { style: S.headBtn, type: 'button', onclick: closeChat }, 'End chat');
  var header = el('div', { style: S.header }, el('span', { style: S.title }, 'Chat with us'), endBtn,
    pageMode ? null : el('button', { style: S.headBtn, type: 'button', 'aria-label': 'Minimise', onclick: toggle }, '–'));
  var panel = el('div', { style: pageMode ? S.panelPage : S.panel }, header, list, status, form, compose);
  var launcher = el('button', { style: S.launcher, type: 'button', 'aria-label': 'Chat with us', onclick: toggle }, '💬');
  root.append(panel);
  if (!pageMode) root.append(launcher);

  function showForm(on) {
    form.style.display = on ? 'flex' : 'none';
    compose.style.display = on ? 'none' : 'flex';
    endBtn.style.display = on ? 'none' : '';
  }
  function toggle() {
    var open = panel.style.display === 'none';
    panel.style.display = open ? 'flex' : 'none';
    if (open) { connect(); markRead(); }
  }

  function connect() {
    if (sock || (!state.token && !form.dataset.starting)) return;
    clearTimeout(timer);
    var ws = new WebSocket(wsURL);
    sock = ws;
    ws.onopen = function () {
      backoff = 1000;
      if (state.token) ws.send(JSON.stringify({ type: 'resume', data: { token: state.token, after_seq: state.lastSeq } }));
      else ws.send(JSON.stringify({ type: 'start', data: form.dataset.starting ? JSON.parse(form.dataset.starting) : {} }));
    };
    ws.onmessage = function (ev) {
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      handle(m.type, m.data || {});
    };
    ws.onclose = function () {
      if (sock === ws) sock = null;
      if (ended || !state.token) return;
      status.textContent = 'Reconnecting…';
      timer = setTimeout(connect, backoff + Math.random() * 500);
      backoff = Math.min(backoff * 2, 30000);
    };
  }

  function send(type, data) {
    if (sock && sock.readyState === WebSocket.OPEN) { sock.send(JSON.stringify({ type: type, data: data })); return true; }
    return false;
  }

  function handle(type, d) {
    switch (type) {
      case 'welcome':
        state.token = d.token; save(); delete form.dataset.starting;
        showForm(false); status.textContent = '';
        outbox.forEach(function (id) { var p = pending[id]; if (p && !p.seq) send('message', { text: p.text, client_id: id }); });
        break;
      case 'message': addMessage(d); break;
      case 'delivered': delivered(d.client_id, d.seq); break;
      case 'read':
        Object.keys(pending).forEach(function (id) { var p = pending[id]; if (p.seq && p.seq <= d.seq) p.tick.textContent = '✓✓'; });
        break;
      case 'queue':
        status.textContent = 'You are number ' + d.position + ' in the queue' + (d.ewt_s ? ' (about ' + Math.max(1, Math.round(d.ewt_s / 60)) + ' min)' : '') + '.';
        break;
      case 'typing':
        status.textContent = 'The agent is typing…';
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () { status.textContent = ''; }, 3000);
        break;
      case 'error':
        if (d.code === 'bad_token') { state = { lastSeq: 0 }; save(); showForm(true); }
        list.append(el('div', { style: S.system }, d.message || d.code));
        break;
      case 'closed': finished(); break;
    }
  }

  function row(mine, text) {
    var b = el('div', { style: mix(S.bubble, mine ? S.mine : S.theirs) }, text);
    list.append(b);
    list.scrollTop = list.scrollHeight;
    return b;
  }

  function addMessage(m) {
    if (shown[m.seq]) return;
    if (m.sender === 'customer') {
      // A message stored before the socket dropped, its ack lost: the replay is its ack.
      var ids = Object.keys(pending).filter(function (id) { return !pending[id].seq && pending[id].text === m.text; });
      if (ids.length) { delivered(ids[0], m.seq); return; }
    }
    state.lastSeq = Math.max(state.lastSeq, m.seq); save();
    var b;
    if (m.sender === 'system') {
      b = el('div', { style: S.system }, m.text);
      list.append(b);
    } else {
      b = row(m.sender === 'customer', m.text);
      if (m.sender === 'customer') b.append(el('span', { style: S.tick }, '✓'));
    }
    shown[m.seq] = b;
    list.querySelectorAll('[data-quick]').forEach(function (q) { q.remove(); });
    if (m.buttons && m.buttons.length) {
      var bs = el('div', { style: S.buttons, 'data-quick': '' });
      m.buttons.forEach(function (btn) {
        bs.append(el('button', { style: S.quick, type: 'button', onclick: function () { send('button', { value: btn.value }); } }, btn.label));
      });
      b.append(bs);
    }
    if (m.sender === 'agent') status.textContent = '';
    list.scrollTop = list.scrollHeight;
    markRead();
  }

  function delivered(id, seq) {
    var p = pending[id];
    if (!p) return;
    p.seq = seq; p.tick.textContent = '✓';
    shown[seq] = p.row;
    state.lastSeq = Math.max(state.lastSeq, seq); save();
    outbox = outbox.filter(function (x) { return x !== id; });
  }

  function sendText() {
    var text = textarea.value.trim();
    if (!text) return;
    textarea.value = '';
    var id = newID();
    var r = row(true, text), tick = el('span', { style: S.tick }, '…');
    r.append(tick);
    pending[id] = { text: text, row: r, tick: tick };
    outbox.push(id);
    if (!send('message', { text: text, client_id: id })) connect();
  }

  function onKey(ev) { if (ev.key === 'Enter' && !ev.shiftKey) { ev.preventDefault(); sendText(); } }
  function onTyping() {
    var now = Date.now();
    if (now - lastTyping > 2000) { lastTyping = now; send('typing'); }
  }
  function markRead() {
    if (panel.style.display !== 'none' && document.visibilityState === 'visible' && state.lastSeq) send('read', { seq: state.lastSeq });
  }
  document.addEventListener('visibilitychange', markRead);

  function start() {
    ended = false;
    form.dataset.starting = JSON.stringify({ name: fName.value, email: fEmail.value, phone: fPhone.value, language: (navigator.language || '').slice(0, 2) });
    connect();
  }
  function closeChat() { if (!send('close')) finished(); }
  function finished() {
    ended = true;
    state = { lastSeq: 0 }; save();
    status.textContent = '';
    list.append(el('div', { style: S.system }, el('button', { style: S.quick, type: 'button', onclick: restart }, 'Start a new chat')));
    compose.style.display = 'none'; endBtn.style.display = 'none';
    if (sock) sock.close();
  }
  function restart() {
    while (list.firstChild) list.firstChild.remove();
    shown = {}; pending = {}; outbox = [];
    showForm(true);
  }

  showForm(!state.token);
  if (!pageMode) panel.style.display = 'none';
  if (state.token) connect();
  (document.body || document.documentElement).append(hostEl);
})();
