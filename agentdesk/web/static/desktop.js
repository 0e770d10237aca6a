// Agent desktop: login, presence, softphone, screen pop, wrap-up, contact
// search + click-to-dial, preview campaigns, ticket view, and one panel
// per task held (the call and each chat, email, ticket or lead) with its
// own pop and controls. All call and task control goes over CTI; CRM reads and writes
// go to the REST API (/api/v1) with the session token.
import { CTI, el, fmtDuration } from './cti.js';
import { Softphone } from './softphone.js';
import { ScriptPanel } from './script.js';
import { CampaignPanel } from './campaign.js';
import { onChatEvent, popSegment, renderTasks, tickTasks } from './tasks.js';

const $ = (id) => document.getElementById(id);
const S = {
  cti: null, phone: null, token: '', me: null,
  status: null, offer: null, call: null, consult: null, wrap: null, tasks: new Map(),
  dispositions: [], reasons: [], skew: 0, ended: '',
};
window.switchboard = S; // for diagnostics and browser tests

function toast(msg) {
  const t = $('toast');
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toast.t);
  toast.t = setTimeout(() => { t.hidden = true; }, 6000);
}

async function api(method, path, body) {
  const r = await fetch('/api/v1' + path, {
    method,
    headers: { 'Authorization': 'Bearer ' + S.token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!r.ok) throw new Error((data && (data.message || data.error?.message || data.error)) || `HTTP ${r.status}`);
  return data;
}

const script = new ScriptPanel(api, toast);
// A preview call is a click-to-dial: its failures are reported as dial's.
const campaign = new CampaignPanel({
  send: (type, data) => S.cti.send(type, data),
  onDial: (d) => { S.dialing = d; },
  openTicket: (id) => openTicket(id),
});

function cmd(type, data) {
  return S.cti.send(type, data).catch((e) => {
    toast(`${type}: ${e.message}${e.field ? ' (' + e.field + ')' : ''}`);
    throw e;
  });
}

// ---- login / connection ----

async function start(token) {
  S.token = token;
  sessionStorage.setItem('sb-token', token);
  const cti = new CTI({ token });
  S.cti = cti;
  wire(cti);
  try {
    await cti.connect();
  } catch (e) {
    $('login-error').textContent = 'Cannot reach the server.';
  }
}

async function passwordLogin(login, password) {
  // Log in over CTI (first-message login): the reply carries the session
  // token used for reconnects and for the REST API.
  const cti = new CTI();
  S.cti = cti;
  wire(cti);
  await cti.connect();
  try {
    const r = await cti.send('login', { login, password });
    S.token = r.token;
    cti.token = r.token;
    sessionStorage.setItem('sb-token', r.token);
  } catch (e) {
    cti.close();
    throw e;
  }
}

function wire(cti) {
  cti.on('open', () => { $('conn').textContent = 'connected'; $('conn').className = 'conn ok'; });
  cti.on('close', ({ code }) => {
    $('conn').textContent = code === 4001 ? 'resyncing…' : 'reconnecting…';
    $('conn').className = 'conn bad';
    if (code === 4401) logout(S.ended || 'Session expired; please sign in again.');
    if (code === 4002) toast('Signed in elsewhere; this desktop is disconnected.');
  });
  cti.on('hello', (d) => {
    S.me = d.agent;
    S.skew = Date.parse(d.server_time) - Date.now();
    S.dispositions = d.dispositions || [];
    S.reasons = d.reason_codes || [];
    showDesk(d);
  });
  cti.on('agent.snapshot', (d) => {
    S.status = d.status; S.offer = d.offer; S.call = d.call; setWrap(d.wrapup);
    S.tasks = new Map((d.tasks || []).map((t) => [t.task_id, t]));
    render();
  });
  cti.on('task.offered', (d) => {
    S.tasks.set(d.task_id, { task_id: d.task_id, channel: d.channel, agent_id: d.agent_id, queue: d.queue,
      state: 'offered', since: d.decided_at, deadline: d.deadline, pop: d });
    render();
  });
  cti.on('task.state', (d) => {
    const old = S.tasks.get(d.task_id);
    if (d.state === 'ended') {
      if (old && (d.reason === 'withdrawn' || d.reason === 'no-answer' || d.reason === 'failed')) {
        toast(`${d.channel} offer ${d.reason}`);
      }
      S.tasks.delete(d.task_id);
    } else {
      S.tasks.set(d.task_id, { ...(old || {}), ...d, pop: old ? old.pop : null });
    }
    render();
  });
  for (const type of ['chat.message', 'chat.typing', 'chat.read', 'chat.ended']) cti.on(type, (d) => onChatEvent(type, d));
  cti.on('agent.state', (d) => { S.status = d; render(); });
  cti.on('call.offered', (d) => { S.offer = d; render(); $('btn-answer').focus(); });
  cti.on('call.rescinded', (d) => {
    if (S.offer && S.offer.call_id === d.call_id) { S.offer = null; toast('Offer withdrawn (' + (d.reason || 'ended') + ')'); }
    if (S.dialing && S.dialing.call_id === d.call_id) {
      toast(`Call to ${S.dialing.number} failed: your phone did not answer (${d.reason || 'ended'})`);
      S.dialing = null;
    }
    render();
  });
  cti.on('call.answered', (d) => { S.call = d; S.offer = null; S.recPaused = false; render(); });
  cti.on('call.held', (d) => { S.call = d; render(); });
  cti.on('call.unheld', (d) => { S.call = d; render(); });
  cti.on('call.transferred', () => { S.call = null; S.consult = null; render(); });
  cti.on('call.consult', (d) => {
    const open = ['ringing', 'talking', 'conference'].includes(d.phase);
    S.consult = open ? d : null;
    if (d.phase === 'failed') toast(`Consultation failed (${d.reason || 'not reached'}): back with the caller`);
    if (d.phase === 'left' && d.role === 'consulting') toast('The third party left the conference');
    render();
  });
  cti.on('call.ended', (d) => {
    const mine = S.dialing && S.dialing.call_id === d.call_id ? S.dialing : null;
    if (d.cause === 'failed') {
      toast(`Call ${mine || d.outbound ? 'to' : 'with'} ${d.ani || (mine && mine.number) || 'the caller'} failed${d.reason ? ': ' + d.reason : ''}`);
    }
    if (mine) S.dialing = null;
    if (!S.call || S.call.call_id === d.call_id) { S.call = null; S.consult = null; }
    render();
  });
  cti.on('wrapup.started', (d) => { setWrap(d); render(); $('disposition').focus(); });
  cti.on('wrapup.ended', () => { S.wrap = null; render(); });
  cti.on('error', (d) => toast(d.message || 'error'));
  cti.on('session.ended', (d) => { S.ended = endedText[d.reason] || 'Signed out; please sign in again.'; });
}

function showDesk(hello) {
  $('login-view').hidden = true;
  $('desk').hidden = false;
  $('me').hidden = false;
  $('agent-name').textContent = hello.agent.name || hello.agent.login;
  const p = $('presence');
  p.replaceChildren(el('option', { value: 'ready' }, 'Ready'));
  const reasons = S.reasons.length ? S.reasons : [{ code: 'break', label: 'Break' }];
  for (const r of reasons) p.append(el('option', { value: 'not-ready:' + r.code }, 'Not ready — ' + r.label));
  p.append(el('option', { value: 'offline' }, 'Offline'));
  const d = $('disposition');
  d.replaceChildren(el('option', { value: '' }, 'Choose…'), ...S.dispositions.map((x) => el('option', { value: x.code }, x.label || x.code)));
  $('sp-connect').hidden = !hello.softphone;
  campaign.show(!!hello.campaigns);
  if (hello.softphone && !S.phone) {
    S.phone = new Softphone(S.cti, $('remote-audio'));
    S.phone.addEventListener('state', (e) => { $('sp-state').textContent = e.detail; });
  }
  if (hello.softphone && (!S.phone.pc || hello.resumed === false)) {
    S.phone.cti = S.cti;
    S.phone.connect().catch((e) => toast('Softphone: ' + e.message));
  }
}

// endedText says why the server ended the session ("session.ended").
const endedText = {
  logout: 'Signed out.',
  password_changed: 'Your password was changed; please sign in again.',
  disabled: 'Your account was disabled.',
  deleted: 'Your account was removed.',
  expired: 'Session expired; please sign in again.',
};

// logout shows the sign-in form, with why when the server ended the session.
function logout(why) {
  if (S.phone) S.phone.disconnect();
  if (S.cti) S.cti.close();
  sessionStorage.removeItem('sb-token');
  S.token = '';
  $('desk').hidden = true;
  $('me').hidden = true;
  campaign.show(false);
  $('login-view').hidden = false;
  S.ended = '';
  $('login-error').textContent = why || '';
}

// ---- rendering ----

function stateLabel(st) {
  if (!st) return 'offline';
  if (st.state && st.state !== 'idle') return st.state;
  if (st.presence === 'not-ready') return 'not ready' + (st.reason ? ' (' + st.reason + ')' : '');
  return st.presence;
}

function render() {
  const st = S.status;
  const badge = $('state-badge');
  const label = stateLabel(st);
  badge.textContent = label;
  badge.className = 'badge state-' + (st ? (st.state && st.state !== 'idle' ? st.state : st.presence) : 'offline');
  const p = $('presence');
  if (st) {
    const v = st.presence === 'not-ready' ? 'not-ready:' + st.reason : st.presence;
    if ([...p.options].some((o) => o.value === v)) p.value = v;
  }
  // Call controls.
  const offered = !!S.offer, oncall = !!S.call;
  $('btn-answer').disabled = !offered;
  $('btn-reject').disabled = !offered;
  $('btn-hangup').disabled = !oncall;
  $('btn-hold').disabled = !oncall;
  const consult = S.consult;
  const consulting = !!consult && consult.role === 'consulting';
  $('btn-xfer').disabled = !oncall || !!consult;
  $('btn-consult').disabled = !oncall || !!consult;
  $('btn-conf').disabled = !oncall || !!consult;
  $('btn-hold').disabled = !oncall || !!consult;
  $('consult-bar').hidden = !consulting;
  if (consult) {
    const who = consult.target ? consult.target.value : '';
    $('consult-status').textContent = consult.phase === 'ringing' ? `Calling ${who}…`
      : consult.phase === 'conference' ? `Conference with ${who}` : `Talking to ${who}; caller on hold`;
    $('btn-consult-complete').disabled = consult.phase === 'ringing';
    $('btn-consult-merge').disabled = consult.phase !== 'talking';
    $('btn-consult-cancel').disabled = consult.phase === 'conference';
  }
  $('btn-rec').disabled = !oncall;
  $('btn-rec').textContent = S.recPaused ? 'Resume recording' : 'Pause recording';
  $('btn-rec').setAttribute('aria-pressed', String(!!S.recPaused));
  const held = oncall && S.call.state === 'held';
  $('btn-hold').textContent = held ? 'Resume' : 'Hold';
  $('btn-hold').setAttribute('aria-pressed', String(held));
  $('call-status').textContent = offered ? `Incoming ${S.offer.consult_from ? 'consultation' : 'call'} from ${S.offer.ani} (${S.offer.queue})`
    : oncall ? `${held ? 'On hold' : 'Talking'}: ${S.call.ani || S.call.call_id}` : 'No call';
  renderPop(S.offer || (S.call && S.lastPop && S.lastPop.call_id === S.call.call_id ? S.lastPop : null));
  // The script stays through the wrap-up, so that its answers can be saved.
  const callID = (S.call && S.call.call_id) || (S.wrap && S.wrap.call_id);
  script.show(S.offer && !S.offer.consult_from ? S.offer
    : callID && S.lastPop && S.lastPop.call_id === callID ? S.lastPop : null, S.me);
  // Wrap-up.
  $('wrapup').hidden = !S.wrap;
  renderCapacity(st);
  renderTasks($('task-panels'), S, { cmd, api, toast, openTicket });
  $('tasks-empty').hidden = !!(S.offer || S.call || S.tasks.size);
  tick();
}

// renderCapacity shows, per channel, the tasks held against the capacity.
function renderCapacity(st) {
  const cap = (st && st.capacity) || {};
  const load = (st && st.load) || {};
  const order = (c) => (c === 'voice' ? 0 : c === 'callback' ? 1 : 2);
  const chans = Object.keys(cap).sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  $('capacity').replaceChildren(...chans.map((c) => el('span', {
    class: 'cap' + ((load[c] || 0) >= cap[c] ? ' full' : ''), dataset: { channel: c },
    'aria-label': `${c}: ${load[c] || 0} of ${cap[c]}`,
  }, `${c} ${load[c] || 0}/${cap[c]}`)));
}

function renderPop(o) {
  if (o && o !== S.lastPop) S.lastPop = o;
  $('pop').hidden = !o;
  $('pop-empty').hidden = !!o;
  if (!o) return;
  const crm = o.crm || {};
  const c = crm.contact || {};
  const acct = crm.account || {};
  const web = crm.web;
  const camp = crm.campaign;
  $('cust-name').textContent = c.name || (web && web.name ? `${web.name} (web${web.verified ? '' : ', unverified'})` : '') ||
    (camp && camp.name) || 'Unknown caller';
  $('vip-badge').hidden = String(popSegment(crm)).toLowerCase() !== 'vip';
  $('cust-account').textContent = acct.name || c.account_id || '—';
  $('cust-ani').textContent = o.ani || '';
  const g = o.geo || {};
  $('cust-geo').textContent = [g.region, g.country, g.time_zone].filter(Boolean).join(' · ') || '—';
  $('pop-queue').textContent = o.queue + (o.ewt_s ? ` (EWT ${fmtDuration(o.ewt_s)})` : '');
  $('pop-waited').textContent = fmtDuration(o.waited_s || 0);
  $('pop-ivr').textContent = camp ? `Outbound campaign call: the customer answered (${camp.detection || 'detection off'})` :
    ((o.ivr_summary || []).join('; ') || '—');
  $('pop-reasons').textContent = (o.routing_reasons || []).join(', ') || '—';
  const tickets = crm.open_tickets || [];
  $('pop-tickets').replaceChildren(...(tickets.length ? tickets.map((t) => el('li', {},
    el('button', { type: 'button', class: 'link', onclick: () => openTicket(t.number || t.id) }, t.number || t.id),
    ` ${t.subject || ''} `, el('span', { class: 'badge' }, t.status || ''))) : [el('li', {}, 'None')]));
  suggestArticles(o);
  const hist = crm.last_interactions || crm.interactions || [];
  $('pop-history').replaceChildren(...(hist.length ? hist.map((i) => el('li', {},
    `${(i.arrived_at || i.at || '').slice(0, 16).replace('T', ' ')} ${i.direction || ''} ${i.outcome || ''} ${i.disposition || ''} ${i.notes || ''}`)) : [el('li', {}, 'None')]));
}

// suggestArticles lists the knowledge articles that match what the pop
// says the call is about: the queue, the caller's IVR choices and the
// subject of their open ticket (GET /api/v1/knowledge/suggest).
async function suggestArticles(o) {
  const key = `${o.call_id || o.task_id}|${o.queue}`;
  if (suggestArticles.key === key) return;
  suggestArticles.key = key;
  const crm = o.crm || {};
  const t = (crm.open_tickets || [])[0] || {};
  const q = [o.queue, ...(o.ivr_summary || []), t.subject || ''].join(' ').slice(0, 400).trim();
  let items = [];
  if (q) {
    try { items = (await api('GET', '/knowledge/suggest?limit=3&q=' + encodeURIComponent(q))).items || []; } catch { /* no knowledge base */ }
  }
  if (suggestArticles.key !== key) return;
  $('pop-articles').replaceChildren(...(items.length ? items.map((a) => el('li', {},
    el('a', { href: '/knowledge?article=' + encodeURIComponent(a.id), target: '_blank', rel: 'opener' }, a.title))) : [el('li', {}, 'None')]));
}

// setWrap records the wrap-up in progress; a wrap-up of another call
// starts from an empty form.
function setWrap(w) {
  if (w && (!S.wrap || S.wrap.call_id !== w.call_id)) resetWrapForm();
  S.wrap = w;
}

// resetWrapForm clears the wrap-up form: disposition, notes, ticket and
// callback.
function resetWrapForm() {
  $('wrap-form').reset();
  $('ticket-link').hidden = true;
  $('ticket-create').hidden = true;
  $('cb-details').hidden = true;
}

// wrapPop is the screen pop of the call being wrapped up, if the desk has
// it.
function wrapPop() {
  return S.wrap && S.lastPop && S.lastPop.call_id === S.wrap.call_id ? S.lastPop : null;
}

// localInput is t as a datetime-local input's value (the desk's time zone).
function localInput(t) {
  const d = new Date(t.getTime() - t.getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

// scheduleCallback schedules the callback the wrap-up form asks for: the
// number (the caller's by default) called back at the time given, in the
// call's queue, offered to this agent first if ticked; the notes go with
// it. It throws (the wrap-up is not submitted) when the API refuses it.
async function scheduleCallback(notes) {
  const pop = wrapPop();
  const at = new Date($('cb-at').value);
  if (!$('cb-at').value || isNaN(at)) { $('cb-at').focus(); throw new Error('Callback: enter when to call back'); }
  const body = { number: $('cb-number').value.trim(), queue: (pop && pop.queue) || '', at: at.toISOString(), note: notes };
  if ($('cb-mine').checked) body.agent_id = 'me';
  const contact = pop && pop.crm && pop.crm.contact;
  if (contact && contact.id) body.contact_id = contact.id;
  const cb = await api('POST', '/callbacks', body);
  toast('Callback scheduled for ' + new Date(cb.due_at).toLocaleString());
}

function tick() {
  const now = Date.now() + S.skew;
  const since = S.status && S.status.since ? Date.parse(S.status.since) : NaN;
  $('state-timer').textContent = since > 0 ? fmtDuration((now - since) / 1000) : '';
  if (S.wrap && S.wrap.deadline) {
    const left = (Date.parse(S.wrap.deadline) - now) / 1000;
    $('wrap-timer').textContent = left > 0 ? fmtDuration(left) + ' left' : 'overdue';
  }
  tickTasks(now);
}

// ---- actions ----

function init() {
  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('login-error').textContent = '';
    try {
      await passwordLogin($('login').value.trim(), $('password').value);
      $('password').value = '';
    } catch (err) {
      $('login-error').textContent = err.code === 'unauthenticated' ? 'Wrong login or password.' : err.message;
    }
  });
  $('logout').addEventListener('click', async () => {
    try { await S.cti.send('presence.set', { presence: 'offline' }); } catch { /* ignore */ }
    try { await api('DELETE', '/sessions'); } catch { /* the token may be gone already */ }
    logout('');
  });
  $('presence').addEventListener('change', (e) => {
    const v = e.target.value;
    const [presence, reason] = v.startsWith('not-ready:') ? ['not-ready', v.slice(10)] : [v, undefined];
    cmd('presence.set', reason ? { presence, reason } : { presence }).catch(() => render());
  });
  $('script-next').addEventListener('click', () => script.next());
  $('script-save').addEventListener('click', () => script.save());
  $('sp-connect').addEventListener('click', () => S.phone && S.phone.connect().catch((e) => toast('Softphone: ' + e.message)));
  $('btn-answer').addEventListener('click', () => S.offer && cmd('call.answer', { call_id: S.offer.call_id }));
  $('btn-reject').addEventListener('click', () => S.offer && cmd('call.reject', { call_id: S.offer.call_id }));
  $('btn-hangup').addEventListener('click', () => S.call && cmd('call.hangup', { call_id: S.call.call_id }));
  $('btn-hold').addEventListener('click', () => S.call && cmd(S.call.state === 'held' ? 'call.unhold' : 'call.hold', { call_id: S.call.call_id }));
  $('btn-rec').addEventListener('click', async () => {
    if (!S.call) return;
    try {
      const r = await cmd(S.recPaused ? 'call.record.resume' : 'call.record.pause', { call_id: S.call.call_id });
      S.recPaused = !!(r && r.paused);
    } catch { /* cmd shows the error */ }
    render();
  });
  $('xfer-form').addEventListener('submit', (e) => {
    e.preventDefault();
    if (!S.call) return;
    cmd('call.transfer', xferData());
  });
  const xferData = () => ({ call_id: S.call.call_id, target: { kind: $('xfer-kind').value, value: $('xfer-value').value.trim() } });
  for (const [id, type] of [['btn-consult', 'call.consult'], ['btn-conf', 'call.conference']]) {
    $(id).addEventListener('click', () => {
      if (!S.call) return;
      if (!$('xfer-value').value.trim()) { $('xfer-value').focus(); toast('Enter who to call'); return; }
      cmd(type, xferData());
    });
  }
  for (const [id, type] of [['btn-consult-complete', 'call.consult.complete'], ['btn-consult-merge', 'call.consult.merge'],
    ['btn-consult-cancel', 'call.consult.cancel']]) {
    $(id).addEventListener('click', () => S.call && cmd(type, { call_id: S.call.call_id }));
  }
  const pad = $('keypad');
  for (const k of ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#']) {
    pad.append(el('button', { type: 'button', 'aria-label': 'DTMF ' + k, onclick: () => {
      if (!S.phone || !S.phone.dtmf(k)) toast('Keypad needs a connected softphone');
    } }, k));
  }
  document.querySelectorAll('input[name=ticket-mode]').forEach((r) => r.addEventListener('change', () => {
    const m = document.querySelector('input[name=ticket-mode]:checked').value;
    $('ticket-link').hidden = m !== 'link';
    $('ticket-create').hidden = m !== 'create';
  }));
  $('cb-on').addEventListener('change', () => {
    $('cb-details').hidden = !$('cb-on').checked;
    if (!$('cb-on').checked) return;
    const pop = wrapPop();
    if (!$('cb-number').value && pop && pop.ani) $('cb-number').value = pop.ani;
    if (!$('cb-at').value) $('cb-at').value = localInput(new Date(Date.now() + 3600000));
  });
  $('wrap-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!S.wrap) return;
    const data = { call_id: S.wrap.call_id, disposition: $('disposition').value, notes: $('notes').value };
    const m = document.querySelector('input[name=ticket-mode]:checked').value;
    if (m === 'link') data.link_ticket = $('link-ticket').value.trim();
    if (m === 'create') data.create_ticket = { subject: $('ticket-subject').value.trim(), priority: $('ticket-priority').value };
    if ($('cb-on').checked) {
      try { await scheduleCallback(data.notes); } catch (err) { toast(err.message.startsWith('Callback') ? err.message : 'Callback: ' + err.message); return; }
    }
    try {
      await script.saveIfAnswered();
      const r = await cmd('wrapup.submit', data);
      resetWrapForm();
      if (r.ticket_id) toast('Ticket ' + r.ticket_id + ' saved');
      S.wrap = null;
      render();
    } catch { /* toast shown */ }
  });
  $('search-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const q = $('search-q').value.trim();
    try {
      const r = await api('GET', '/contacts?q=' + encodeURIComponent(q));
      const items = Array.isArray(r) ? r : (r.items || r.contacts || r.data || []);
      $('search-results').replaceChildren(...(items.length ? items.map(contactItem) : [el('li', {}, 'No contacts found')]));
    } catch (err) { toast('Search: ' + err.message); }
  });
  $('dial-form').addEventListener('submit', (e) => {
    e.preventDefault();
    dial($('dial-number').value.trim());
  });
  $('ticket-load').addEventListener('submit', (e) => { e.preventDefault(); openTicket($('ticket-id').value.trim()); });
  $('ticket-status').addEventListener('submit', async (e) => {
    e.preventDefault();
    const id = $('ticket-view').dataset.id;
    try {
      const t = await api('POST', '/tickets/' + encodeURIComponent(id) + '/transitions', { to: $('tv-new-status').value });
      showTicket(t && t.ticket ? t.ticket : t);
    } catch (err) { toast('Ticket: ' + err.message); }
  });
  $('ticket-comment').addEventListener('submit', async (e) => {
    e.preventDefault();
    const id = $('ticket-view').dataset.id;
    try {
      await api('POST', '/tickets/' + encodeURIComponent(id) + '/comments', { body: $('tv-comment').value });
      $('tv-comment').value = '';
      toast('Comment added');
    } catch (err) { toast('Comment: ' + err.message); }
  });
  setInterval(tick, 1000);
  const saved = sessionStorage.getItem('sb-token');
  if (saved) start(saved);
}

function contactItem(c) {
  const phones = (c.phones || []).map((p) => p.e164 || p.number || p).filter(Boolean);
  return el('li', {}, el('strong', {}, c.name || c.id), ' ',
    ...phones.map((n) => el('button', { type: 'button', class: 'dial', 'aria-label': `Call ${c.name} at ${n}`,
      onclick: () => dial(n, c.id) }, 'Call ' + n)));
}

// dial places a click-to-dial call; a refusal (no route, not permitted)
// is shown by cmd, a later failure by the call's events.
function dial(number, contactId) {
  cmd('call.dial', contactId ? { number, contact_id: contactId } : { number })
    .then((r) => { S.dialing = { call_id: r.call_id, number }; })
    .catch(() => {});
}

async function openTicket(id) {
  if (!id) return;
  try {
    const t = await api('GET', '/tickets/' + encodeURIComponent(id));
    showTicket(t && t.ticket ? t.ticket : t);
  } catch (err) { toast('Ticket: ' + err.message); }
}

function showTicket(t) {
  if (!t) return;
  $('ticket-view').hidden = false;
  $('ticket-view').dataset.id = t.number || t.id;
  $('tv-subject').textContent = `${t.number || t.id} — ${t.subject || ''}`;
  $('tv-status').textContent = t.status || '';
  $('tv-priority').textContent = t.priority || '';
}

init();
