// Historical reports for supervisors: the interval report of the REST API
// (GET /api/v1/reports/intervals) for a date range, time zone, grouping
// and row dimension, as a table and two SVG charts drawn here. Every value
// from the server is inserted as text. The session token is the one the
// wallboard keeps (sessionStorage "sb-token"), or a REST sign-in.
import { el } from './cti.js';

const $ = (id) => document.getElementById(id);
const S = { token: sessionStorage.getItem('sb-token') || '', agents: new Map(), last: null };
const SVG = 'http://www.w3.org/2000/svg';

function toast(msg) {
  const t = $('toast');
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toast.t);
  toast.t = setTimeout(() => { t.hidden = true; }, 6000);
}

class HTTPError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
  }
}

// api calls the REST API with the session token; a 401 asks for a new
// sign-in.
async function api(path, { accept } = {}) {
  const headers = { Authorization: 'Bearer ' + S.token };
  if (accept) headers.Accept = accept;
  const r = await fetch(path, { headers });
  if (r.status === 401) {
    sessionStorage.removeItem('sb-token');
    showLogin('Session expired; sign in again.');
    throw new HTTPError(401);
  }
  if (!r.ok) {
    let body = null;
    try { body = await r.json(); } catch { /* not JSON */ }
    throw new HTTPError(r.status, body);
  }
  return accept === 'text/csv' ? r.blob() : r.json();
}

function showLogin(msg) {
  $('report-view').hidden = true;
  $('login-view').hidden = false;
  $('login-error').textContent = msg || '';
}

async function start() {
  let me;
  try {
    me = await api('/api/v1/sessions/current');
  } catch (err) {
    if (err.status !== 401) showLogin(err.message);
    return;
  }
  if (me.role === 'agent') { showLogin('Reports need a supervisor login.'); return; }
  $('login-view').hidden = true;
  $('report-view').hidden = false;
  try {
    const list = await api('/api/v1/agents');
    S.agents = new Map((list.items || []).map((a) => [a.id, a.name || a.login]));
  } catch { /* names are a convenience: ids are shown instead */ }
  await run();
}

// ymd formats a Date as YYYY-MM-DD in the browser's zone.
function ymd(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function query() {
  const p = new URLSearchParams({ from: $('from').value, to: $('to').value, group: $('group').value, by: $('by').value });
  const tz = $('tz').value.trim();
  if (tz) p.set('tz', tz);
  for (const q of $('queues').value.split(',').map((s) => s.trim()).filter(Boolean)) p.append('queue', q);
  return p;
}

async function run() {
  $('status').textContent = 'loading…';
  try {
    const rep = await api('/api/v1/reports/intervals?' + query());
    S.last = rep;
    draw(rep);
    $('status').textContent = `${rep.count} rows`;
  } catch (err) {
    $('status').textContent = '';
    if (err.status !== 401) toast(err.message);
  }
}

async function downloadCSV() {
  try {
    const blob = await api('/api/v1/reports/intervals?' + query(), { accept: 'text/csv' });
    const a = el('a', { href: URL.createObjectURL(blob), download: `report-${$('from').value}-${$('to').value}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  } catch (err) {
    if (err.status !== 401) toast(err.message);
  }
}

// Formats shared by the table and its tests: a figure the server sends
// as null (nothing to measure) is a dash.
export const fmt = {
  pct: (v) => (v === null || v === undefined ? '–' : (v * 100).toFixed(1) + '%'),
  num: (v, d = 1) => (v === null || v === undefined ? '–' : v.toFixed(d)),
  hours: (s) => (s / 3600).toFixed(2),
  period: (p, group) => {
    if (group === 'month') return p.slice(0, 7);
    if (group === 'day') return p.slice(0, 10);
    return p.slice(0, 10) + ' ' + p.slice(11, 16);
  },
  notReady: (m) => Object.keys(m || {}).sort().map((k) => `${k || '—'} ${(m[k] / 3600).toFixed(2)}h`).join('; '),
};

function label(key, by) {
  if (by === 'agent') return S.agents.get(key) || key;
  return key || '(none)';
}

function draw(rep) {
  const body = $('rows');
  body.replaceChildren();
  $('empty').hidden = rep.items.length > 0;
  for (const r of rep.items) {
    const s = r.sums, f = r.figures;
    body.append(el('tr', { dataset: { key: r.key, period: r.period } },
      el('td', {}, fmt.period(r.period, rep.group)),
      el('td', {}, label(r.key, rep.by)),
      el('td', { class: 'offered' }, String(s.offered)),
      el('td', { class: 'answered' }, String(s.answered)),
      el('td', { class: 'abandoned' }, String(s.abandoned_short + s.abandoned_long)),
      el('td', { class: 'sl' }, fmt.pct(f.service_level)),
      el('td', { class: 'sl2' }, fmt.pct(f.service_level_ex_short)),
      el('td', { class: 'asa' }, fmt.num(f.asa)),
      el('td', { class: 'aht' }, fmt.num(f.aht)),
      el('td', { class: 'transfers' }, String(s.transfers)),
      el('td', { class: 'fcr' }, fmt.pct(f.fcr_rate)),
      el('td', { class: 'csat' }, fmt.num(f.csat, 2)),
      el('td', { class: 'nps' }, fmt.num(f.nps)),
      el('td', { class: 'login' }, fmt.hours(f.login_seconds)),
      el('td', { class: 'occupancy' }, fmt.pct(f.occupancy)),
      el('td', { class: 'utilisation' }, fmt.pct(f.utilisation)),
      el('td', { class: 'notready' }, fmt.notReady(f.not_ready_seconds))));
  }
  const periods = new Map();
  for (const r of rep.items) {
    const p = periods.get(r.period) || { label: fmt.period(r.period, rep.group), offered: 0, answered: 0, abandoned: 0, within: 0 };
    p.offered += r.sums.offered;
    p.answered += r.sums.answered;
    p.abandoned += r.sums.abandoned_short + r.sums.abandoned_long;
    p.within += r.sums.answered_within_sl;
    periods.set(r.period, p);
  }
  const series = [...periods.keys()].sort().map((k) => periods.get(k));
  $('chart-volume').replaceChildren(volumeChart(series), legend());
  $('chart-sl').replaceChildren(slChart(series));
}

function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

const W = 640, H = 240, M = { l: 44, r: 10, t: 10, b: 36 };

// frame draws the axes, horizontal grid lines with their values (max
// split in four, formatted by tick) and every n-th period label.
function frame(g, series, max, tick) {
  const iw = W - M.l - M.r, ih = H - M.t - M.b;
  for (let i = 0; i <= 4; i++) {
    const y = M.t + ih - (ih * i) / 4;
    g.append(svg('line', { class: i ? 'grid' : 'axis', x1: M.l, x2: W - M.r, y1: y, y2: y }));
    g.append(svg('text', { x: M.l - 4, y: y + 4, 'text-anchor': 'end' }, tick((max * i) / 4)));
  }
  const every = Math.max(1, Math.ceil(series.length / 8));
  series.forEach((p, i) => {
    if (i % every) return;
    const x = M.l + (iw * (i + 0.5)) / series.length;
    g.append(svg('text', { x, y: H - M.b + 14, 'text-anchor': 'middle' }, p.label.length > 10 ? p.label.slice(5) : p.label));
  });
  return { iw, ih };
}

function volumeChart(series) {
  const s = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Contacts per period' });
  // A maximum that splits into four whole-number steps.
  const max = 4 * Math.max(1, Math.ceil(Math.max(0, ...series.map((p) => p.offered)) / 4));
  const { iw, ih } = frame(s, series, max, (v) => Math.round(v));
  const bw = iw / Math.max(1, series.length);
  series.forEach((p, i) => {
    const x0 = M.l + bw * i + bw * 0.1, w = (bw * 0.8) / 3;
    ['offered', 'answered', 'abandoned'].forEach((k, j) => {
      const h = (ih * p[k]) / max;
      s.append(svg('rect', { class: k, x: x0 + w * j, y: M.t + ih - h, width: Math.max(w - 1, 1), height: h },
        svg('title', {}, `${p.label}: ${p[k]} ${k}`)));
    });
  });
  return s;
}

function legend() {
  return el('div', { class: 'legend' }, ...['offered', 'answered', 'abandoned'].map((k) =>
    el('span', {}, el('i', { class: k }), k)));
}

function slChart(series) {
  const s = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Service level per period' });
  const { iw, ih } = frame(s, series, 1, (v) => Math.round(v * 100) + '%');
  const pts = [];
  series.forEach((p, i) => {
    if (!p.offered) return;
    const x = M.l + (iw * (i + 0.5)) / series.length, y = M.t + ih - ih * (p.within / p.offered);
    pts.push(`${x.toFixed(1)},${y.toFixed(1)}`);
    s.append(svg('circle', { class: 'dot', cx: x, cy: y, r: 3 },
      svg('title', {}, `${p.label}: ${((p.within / p.offered) * 100).toFixed(1)}%`)));
  });
  if (pts.length > 1) s.insertBefore(svg('polyline', { class: 'sl', points: pts.join(' ') }), s.querySelector('circle'));
  return s;
}

function init() {
  const today = new Date();
  const week = new Date(today.getTime() - 7 * 86400000);
  const tomorrow = new Date(today.getTime() + 86400000);
  $('from').value = ymd(week);
  $('to').value = ymd(tomorrow);
  $('tz').value = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  if (Intl.supportedValuesOf) {
    $('zones').replaceChildren(...Intl.supportedValuesOf('timeZone').map((z) => el('option', { value: z })));
  }
  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const r = await fetch('/api/v1/sessions', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ login: $('login').value.trim(), password: $('password').value }) });
      const body = await r.json();
      if (!r.ok) {
        $('login-error').textContent = r.status === 401 ? 'Wrong login or password.' : body.error.message;
        return;
      }
      S.token = body.token;
      sessionStorage.setItem('sb-token', body.token);
      await start();
    } catch (err) {
      $('login-error').textContent = err.message;
    }
  });
  $('query').addEventListener('submit', (e) => { e.preventDefault(); run(); });
  $('csv').addEventListener('click', downloadCSV);
  if (S.token) start(); else showLogin();
}

init();
