// Supervisor wallboard: a feed-only CTI connection (?client=wallboard). It
// draws the sup.snapshot, then applies sup.queue / sup.agent deltas.
// Times in state are computed locally from "since". Per channel it shows
// the tasks waiting and the occupancy: the tasks agents hold over the
// capacity of the agents present. Outbound campaigns are not on the CTI
// feed: their tiles come from polling GET /api/v1/campaigns with the same
// token, independently of the WebSocket.
import { CTI, el, fmtDuration } from './cti.js';

const $ = (id) => document.getElementById(id);
const S = { cti: null, queues: new Map(), agents: new Map(), skew: 0, ended: '', camp: { token: '', timer: 0 } };
const CAMPAIGN_POLL_MS = 3000;
const DEFAULT_ABANDON_CAP = 0.03;

function toast(msg) {
  const t = $('toast');
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toast.t);
  toast.t = setTimeout(() => { t.hidden = true; }, 5000);
}

function connect(token) {
  watchCampaigns(token);
  const cti = new CTI({ token, client: 'wallboard' });
  S.cti = cti;
  cti.on('open', () => { $('conn').textContent = 'live'; $('conn').className = 'conn ok'; });
  cti.on('close', ({ code }) => {
    $('conn').textContent = 'reconnecting…';
    $('conn').className = 'conn bad';
    if (code === 4401) { sessionStorage.removeItem('sb-token'); showLogin(S.ended || 'Session expired; sign in again.'); }
  });
  cti.on('session.ended', (d) => { S.ended = d.reason === 'logout' ? 'Signed out.' : 'Session ended (' + d.reason + '); sign in again.'; });
  cti.on('hello', (d) => {
    S.ended = '';
    S.skew = Date.parse(d.server_time) - Date.now();
    if (d.agent.role === 'agent') { showLogin('The wallboard needs a supervisor login.'); cti.close(); return; }
    $('login-view').hidden = true;
    $('board').hidden = false;
  });
  cti.on('sup.snapshot', (d) => {
    S.queues = new Map((d.queues || []).map((q) => [q.queue, q]));
    S.agents = new Map((d.agents || []).map((a) => [a.agent_id, a]));
    drawQueues(); drawWaiting(); drawAgents(); drawChannels();
  });
  cti.on('sup.queue', (q) => { S.queues.set(q.queue, q); drawQueues(); drawWaiting(); drawChannels(); });
  cti.on('sup.agent', (a) => {
    // An agent offline and idle has left the floor (fresh snapshots omit them).
    if (a.presence === 'offline' && (!a.state || a.state === 'idle')) S.agents.delete(a.agent_id);
    else S.agents.set(a.agent_id, a);
    drawAgents(); drawChannels();
  });
  cti.connect().catch(() => { $('conn').textContent = 'cannot connect'; });
}

function showLogin(msg) {
  stopCampaigns();
  $('board').hidden = true;
  $('login-view').hidden = false;
  $('login-error').textContent = msg || '';
}

function now() { return Date.now() + S.skew; }

function gauge(q) {
  const pct = Math.max(0, Math.min(100, q.sl_percent || 0));
  const ok = pct >= (q.sl_target || 0);
  return el('div', { class: 'gauge ' + (ok ? 'ok' : 'bad'), role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': '100',
    'aria-valuenow': pct.toFixed(0), 'aria-label': `Service level ${pct.toFixed(0)}% against target ${q.sl_target}%` },
  el('div', { class: 'bar', style: { width: `${pct}%` } }),
  el('div', { class: 'target', style: { left: `${Math.min(100, q.sl_target || 0)}%` } }),
  el('span', {}, `SL ${pct.toFixed(0)}% / ${q.sl_target || 0}%`));
}

function stat(label, value, cls) {
  return el('div', { class: 'stat ' + (cls || '') }, el('span', { class: 'v' }, value), el('span', { class: 'l' }, label));
}

// minSec renders seconds as "3m10s" ("45s" under a minute).
function minSec(sec) {
  sec = Math.max(0, Math.round(sec || 0));
  const m = Math.floor(sec / 60), s = sec % 60;
  return m ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

// erlangBasis says what the Erlang C recommendation assumes: the recent
// arrivals and the period they were counted over, the average handle
// time, and the service-level goal.
function erlangBasis(q) {
  const e = q.erlang || {};
  const p = e.period_s || 0;
  const period = p >= 60 ? `${Math.round(p / 60)} min` : `${Math.round(p)} s`;
  return `Erlang C assumes ${e.calls || 0} calls/${period}, AHT ${minSec(e.aht_s)}${e.aht_default ? ' (default)' : ''}, ` +
    `target ${q.sl_target || 0} % in ${q.sl_threshold_s || 0} s`;
}

function drawQueues() {
  const tiles = [...S.queues.values()].sort((a, b) => a.queue.localeCompare(b.queue)).map((q) => {
    const oldest = (q.calls || []).reduce((m, c) => Math.max(m, (now() - Date.parse(c.since)) / 1000), q.longest_wait_s || 0);
    const under = q.staffed < q.recommended;
    return el('article', { class: 'tile', 'aria-label': 'Queue ' + q.queue, dataset: { queue: q.queue } },
      el('h3', {}, q.queue),
      el('div', { class: 'stats' },
        stat('waiting', String(q.waiting ?? (q.calls || []).length), 'big q-waiting'),
        stat('longest wait', fmtDuration(oldest), 'q-longest'),
        stat('ASA', fmtDuration(q.asa_s || 0)),
        stat('abandoned', (q.abandon_percent || 0).toFixed(1) + '%')),
      gauge(q),
      el('div', { class: 'stats small' },
        stat('ready', String(q.ready || 0), 'st-ready'),
        stat('busy', String(q.busy || 0), 'st-busy'),
        stat('wrap-up', String(q.wrap_up || 0), 'st-wrap'),
        stat('staffed / Erlang', `${q.staffed || 0} / ${q.recommended || 0}`, under ? 'warn' : '')),
      el('p', { class: 'by-channel' }, byChannel(q.calls || [])),
      el('p', { class: 'erlang-basis' }, erlangBasis(q)));
  });
  $('queues').replaceChildren(...tiles);
}

// byChannel says how many of calls wait per channel ("voice 2 · chat 1").
function byChannel(calls) {
  const n = new Map();
  for (const c of calls) n.set(c.channel || 'voice', (n.get(c.channel || 'voice') || 0) + 1);
  return [...n].sort((a, b) => a[0].localeCompare(b[0])).map(([c, k]) => `${c} ${k}`).join(' · ') || 'nothing waiting';
}

// drawChannels shows, per channel, the tasks waiting and the occupancy of
// the agents present (not offline) who may take it: tasks held over their
// capacity.
function drawChannels() {
  const ch = new Map();
  const get = (c) => { if (!ch.has(c)) ch.set(c, { waiting: 0, held: 0, capacity: 0, agents: 0 }); return ch.get(c); };
  for (const q of S.queues.values()) for (const c of q.calls || []) get(c.channel || 'voice').waiting++;
  for (const a of S.agents.values()) {
    if (a.presence === 'offline') continue;
    for (const [c, n] of Object.entries(a.capacity || {})) { const x = get(c); x.capacity += n; x.agents++; }
    for (const [c, n] of Object.entries(a.load || {})) get(c).held += n;
  }
  const tiles = [...ch.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([c, x]) => {
    const occ = x.capacity ? Math.round((100 * x.held) / x.capacity) : 0;
    return el('article', { class: 'tile', 'aria-label': 'Channel ' + c, dataset: { channel: c } },
      el('h3', {}, c),
      el('div', { class: 'stats' },
        stat('waiting', String(x.waiting), 'big c-waiting'),
        stat('occupancy', `${occ}%`, 'c-occupancy'),
        stat('held / capacity', `${x.held} / ${x.capacity}`, 'c-held'),
        stat('agents', String(x.agents))));
  });
  $('channels').replaceChildren(...tiles);
}

function drawWaiting() {
  const calls = [...S.queues.values()].flatMap((q) => q.calls || []).sort((a, b) => Date.parse(a.since) - Date.parse(b.since));
  $('waiting').replaceChildren(...(calls.length ? calls.map((c) => el('tr', { dataset: { call: c.call_id } },
    el('td', {}, c.queue), el('td', { class: 'channel' }, c.channel || 'voice'), el('td', {}, c.ani || '—'),
    el('td', { class: 'wait', dataset: { since: c.since } }, fmtDuration((now() - Date.parse(c.since)) / 1000)),
    el('td', {}, String(c.priority)),
    el('td', {}, el('button', { type: 'button', 'aria-label': 'Bump priority of call from ' + (c.ani || c.call_id),
      onclick: () => S.cti.send('sup.call.priority', { call_id: c.call_id, priority: Math.min(100, (c.priority || 0) + 10) }).catch((e) => toast(e.message)) }, 'Bump'),
    ' ',
    el('button', { type: 'button', 'aria-label': 'Move call from ' + (c.ani || c.call_id) + ' to front',
      onclick: () => S.cti.send('sup.call.priority', { call_id: c.call_id, priority: c.priority || 0, front: true }).catch((e) => toast(e.message)) }, 'Front')))) :
    [el('tr', {}, el('td', { colspan: '6' }, 'Nothing waiting'))]));
}

function agentClass(a) {
  if (a.state && a.state !== 'idle') return a.state;
  return a.presence || 'offline';
}

function drawAgents() {
  const list = [...S.agents.values()].sort((a, b) => (a.name || a.agent_id).localeCompare(b.name || b.agent_id));
  $('agents').replaceChildren(...list.map((a) => {
    const cls = agentClass(a);
    const label = cls === 'not-ready' ? `not ready${a.reason ? ' (' + a.reason + ')' : ''}` : cls;
    return el('li', { class: 'agent s-' + cls, dataset: { agent: a.agent_id, state: cls } },
      el('span', { class: 'name' }, a.name || a.agent_id),
      el('span', { class: 'st' }, label),
      el('span', { class: 'since', dataset: { since: a.since || '' } }, Date.parse(a.since) > 0 ? fmtDuration((now() - Date.parse(a.since)) / 1000) : ''),
      a.call ? el('span', { class: 'call' }, a.call.ani || a.call.call_id) : null,
      el('span', { class: 'load' }, Object.entries(a.capacity || {}).sort((x, y) => x[0].localeCompare(y[0]))
        .map(([c, n]) => `${c} ${(a.load || {})[c] || 0}/${n}`).join(' · ')),
      el('select', { 'aria-label': 'Force presence of ' + (a.name || a.agent_id), onchange: (e) => {
        const v = e.target.value; e.target.value = '';
        if (!v) return;
        const [presence, reason] = v === 'not-ready' ? ['not-ready', 'break'] : [v, undefined];
        S.cti.send('sup.presence.set', { agent_id: a.agent_id, presence, ...(reason ? { reason } : {}) }).catch((err) => toast(err.message));
      } }, el('option', { value: '' }, 'Force…'), el('option', { value: 'ready' }, 'Ready'),
      el('option', { value: 'not-ready' }, 'Not ready'), el('option', { value: 'offline' }, 'Offline')),
      a.call ? el('button', { type: 'button', 'aria-label': 'Listen to ' + (a.name || a.agent_id),
        onclick: () => S.cti.send('sup.listen', { call_id: a.call.call_id, mode: 'listen' }).catch((e) => toast(e.message)) }, 'Listen') : null);
  }));
}

// watchCampaigns polls the campaigns with token until stopped. A 404 (no
// campaigns on this server), 403 (the role may not see them) or 401 (the
// session is over: the CTI connection asks for a new login) hides the
// section and ends the polling; other failures keep the last figures and
// try again.
function watchCampaigns(token) {
  stopCampaigns();
  S.camp.token = token;
  pollCampaigns(token);
}

function stopCampaigns() {
  clearTimeout(S.camp.timer);
  S.camp.token = '';
  $('campaigns-view').hidden = true;
}

async function pollCampaigns(token) {
  let list = null, stop = false;
  try {
    const r = await fetch('/api/v1/campaigns', { headers: { Authorization: 'Bearer ' + token } });
    if (r.status === 401 || r.status === 403 || r.status === 404) stop = true;
    else if (r.ok) list = (await r.json()).items || [];
  } catch { /* network trouble: try again at the next poll */ }
  if (S.camp.token !== token) return; // stopped, or another login, meanwhile
  if (stop) { stopCampaigns(); return; }
  if (list) drawCampaigns(list);
  S.camp.timer = setTimeout(() => pollCampaigns(token), CAMPAIGN_POLL_MS);
}

// drawCampaigns shows a tile per campaign that is not stopped; the
// abandonment rate turns red at the campaign's cap.
function drawCampaigns(list) {
  const live = list.filter((c) => c.state !== 'stopped').sort((a, b) => (a.name || a.id).localeCompare(b.name || b.id));
  $('campaigns').replaceChildren(...(live.length ? live.map((c) => {
    const st = c.stats || {};
    const capCfg = c.config?.abandon?.cap;
    const cap = typeof capCfg === 'number' && capCfg > 0 ? capCfg : DEFAULT_ABANDON_CAP;
    const rate = st.abandon_rate || 0;
    return el('article', { class: 'tile campaign', 'aria-label': 'Campaign ' + (c.name || c.id), dataset: { campaign: c.id, state: c.state } },
      el('h3', {}, c.name || c.id),
      el('p', { class: 'campaign-meta' }, `${c.mode} · ${c.state}`),
      el('div', { class: 'stats' },
        stat('dialed', String(st.dialed || 0), 'big k-dialed'),
        stat('connected', String(st.connected || 0), 'k-connected'),
        stat('abandoned', (rate * 100).toFixed(1) + '%', 'k-abandon' + (rate >= cap ? ' warn' : ''))),
      el('div', { class: 'stats small' },
        stat('lines', String(st.lines || 0), 'k-lines'),
        stat('pacing ratio', (st.ratio || 0).toFixed(2), 'k-ratio'),
        stat('contacts done', `${st.done || 0} / ${st.contacts || 0}`, 'k-contacts')));
  }) : [el('p', { class: 'muted' }, 'No campaign running or paused')]));
  $('campaigns-view').hidden = false;
}

function tick() {
  $('clock').textContent = new Date(now()).toLocaleTimeString();
  for (const e of document.querySelectorAll('[data-since]')) {
    if (Date.parse(e.dataset.since) > 0) e.textContent = fmtDuration((now() - Date.parse(e.dataset.since)) / 1000);
  }
}

function init() {
  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const cti = new CTI({ client: 'wallboard' });
    try {
      await cti.connect();
      const r = await cti.send('login', { login: $('login').value.trim(), password: $('password').value });
      cti.close();
      sessionStorage.setItem('sb-token', r.token);
      connect(r.token);
    } catch (err) {
      cti.close();
      $('login-error').textContent = err.code === 'unauthenticated' ? 'Wrong login or password.' : err.message;
    }
  });
  setInterval(tick, 1000);
  // A kiosk link may carry the token in the fragment (#token=…), which is
  // never sent to a server; it is moved to session storage at once.
  const fromLink = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromLink) {
    sessionStorage.setItem('sb-token', fromLink);
    history.replaceState(null, '', location.pathname + location.search);
  }
  const tok = sessionStorage.getItem('sb-token');
  if (tok) connect(tok); else showLogin();
}

init();
