// Quality review: supervisors score the interactions assigned to them
// (recording, timeline, transcript and the form side by side); agents
// read their own submitted evaluations and acknowledge or dispute them.
// Everything goes through /api/v1 with the bearer token; the recording
// is fetched with it too and played from a Blob URL, since a media
// element cannot send an Authorization header. Text from the server is
// only ever inserted as text nodes (el()).
import { el } from './cti.js';
import { $, S, api, signOut, toast } from './page.js';

Object.assign(S, { review: null, audioURL: '' });

const supervisor = () => S.me && S.me.role !== 'agent';
const fmtTime = (s) => (s ? new Date(s).toLocaleString() : '');

async function start() {
  try {
    S.me = await api('GET', '/sessions/current');
  } catch {
    signOut('');
    return;
  }
  $('login-view').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = false;
  $('who').replaceChildren(el('span', {}, `${S.me.name} (${S.me.role})`));
  $('queue-h').textContent = supervisor() ? 'My reviews to do' : 'My evaluations';
  await loadQueue();
}

async function loadQueue() {
  const list = await api('GET', supervisor() ? '/qa/assignments' : '/qa/evaluations');
  const items = list.items || [];
  $('queue-empty').hidden = items.length > 0;
  $('queue').replaceChildren(...items.map((e) => el('li', { dataset: { evaluation: e.id } },
    el('button', { type: 'button', class: 'link', onclick: () => open(e.id) },
      `${e.state} · ${e.sample_week ? 'week of ' + e.sample_week : fmtTime(e.created_at)}`),
    e.score !== undefined ? el('span', { class: 'badge' }, ` ${e.score}%${e.failed ? ' (failed)' : ''}`) : null)));
}

async function open(id) {
  const rv = await api('GET', '/qa/evaluations/' + id);
  S.review = rv;
  $('review').hidden = false;
  $('review').dataset.evaluation = id;
  const ev = rv.evaluation, inn = rv.interaction;
  $('review-h').textContent = `${inn.channel} interaction ${fmtTime(inn.arrived_at)}`;
  drawState(ev);
  drawTimeline(inn);
  drawTranscript(rv.transcript || []);
  drawForm(rv.form, ev);
  await loadRecording(inn);
}

function drawState(ev) {
  let s = `Form ${S.review.form.name} v${ev.form_version} · ${ev.state}`;
  if (ev.score !== undefined) s += ` · score ${ev.score}%${ev.failed ? ' (auto-fail)' : ''}`;
  if (ev.dispute_reason) s += ` · disputed: ${ev.dispute_reason}`;
  if (ev.resolution) s += ` · resolution: ${ev.resolution}`;
  $('review-state').textContent = s;
  const open = ev.state === 'assigned' || ev.state === 'draft';
  $('score-actions').hidden = !(supervisor() && open);
  $('agent-actions').hidden = supervisor() || ev.state !== 'submitted';
}

// loadRecording fetches the call's audio with the token into a Blob URL.
async function loadRecording(inn) {
  const player = $('player');
  player.pause();
  if (S.audioURL) { URL.revokeObjectURL(S.audioURL); S.audioURL = ''; }
  player.removeAttribute('src');
  $('player-box').hidden = true;
  if (!inn.recording) return;
  const r = await fetch(`/api/v1/interactions/${encodeURIComponent(inn.id)}/recording`, { headers: { Authorization: 'Bearer ' + S.token } });
  if (!r.ok) { toast('The recording is not available.'); return; }
  S.audioURL = URL.createObjectURL(await r.blob());
  player.src = S.audioURL;
  $('player-box').hidden = false;
}

function drawTimeline(inn) {
  const ev = [];
  const add = (at, what) => { if (at) ev.push([Date.parse(at), what]); };
  add(inn.arrived_at, `arrived${inn.ani ? ' from ' + inn.ani : ''}${inn.dnis ? ' on ' + inn.dnis : ''}`);
  const ivr = (inn.ivr_path || []).map((s) => s.node + (s.digits ? ` [${s.digits}]` : '') + (s.speech ? ` "${s.speech}"` : '')).join(' → ');
  if (ivr) add(inn.arrived_at, 'IVR: ' + ivr);
  add(inn.queued_at, `queued${inn.queue ? ' in ' + inn.queue : ''}`);
  add(inn.offered_at, 'offered to an agent');
  add(inn.answered_at, 'answered');
  for (const p of inn.parties || []) {
    const who = p.number || p.agent_id || 'someone';
    add(p.joined, `${p.role} ${who} joined`);
    add(p.left, `${p.role} ${who} left`);
  }
  for (const h of inn.holds || []) { add(h.from, 'held'); add(h.to, 'resumed'); }
  add(inn.ended_at, `ended: ${inn.outcome}`);
  if (inn.ended_at && (inn.wrapup_ms || inn.disposition)) {
    ev.push([Date.parse(inn.ended_at) + (inn.wrapup_ms || 0),
      `wrap-up${inn.wrapup_ms ? ' ' + Math.round(inn.wrapup_ms / 1000) + 's' : ''}${inn.disposition ? ': ' + inn.disposition : ''}`]);
  }
  ev.sort((a, b) => a[0] - b[0]);
  $('timeline').replaceChildren(...ev.map(([t, what]) => el('li', {}, el('time', {}, new Date(t).toLocaleTimeString()), ' ', what)));
}

function drawTranscript(lines) {
  $('transcript-box').hidden = lines.length === 0;
  $('transcript').replaceChildren(...lines.map((l) => el('li', { class: 'msg ' + l.kind },
    el('strong', {}, l.from || l.kind), ' ', el('time', {}, fmtTime(l.at)), el('div', { style: { whiteSpace: 'pre-wrap' } }, l.text))));
}

// drawForm renders one fieldset per question, with the saved answers; a
// submitted evaluation is shown read-only.
function drawForm(form, ev) {
  const readOnly = !(supervisor() && (ev.state === 'assigned' || ev.state === 'draft'));
  const blocks = [];
  for (const sec of form.sections || []) {
    blocks.push(el('h4', {}, sec.title));
    for (const q of sec.questions) {
      const a = (ev.answers || {})[q.id];
      const cur = a ? (a.na ? 'na' : String(a.value)) : '';
      let choices;
      if (q.kind === 'scale') {
        choices = Array.from({ length: q.max + 1 }, (_, i) => [String(i), String(i)]);
      } else {
        choices = [['1', 'Yes'], ['0', 'No']];
        if (q.kind === 'na_allowed') choices.push(['na', 'N/A']);
      }
      const name = 'q-' + q.id;
      blocks.push(el('fieldset', { dataset: { question: q.id } },
        el('legend', {}, `${q.text} (weight ${q.weight}${q.auto_fail ? ', auto-fail' : ''})`),
        ...choices.map(([v, label]) => el('label', {},
          el('input', { type: 'radio', name, value: v, checked: cur === v, disabled: readOnly }), ' ', label))));
    }
  }
  $('questions').replaceChildren(...blocks);
  $('comments').value = ev.comments || '';
  $('comments').disabled = readOnly;
  $('score-error').textContent = '';
}

function collect() {
  const answers = {};
  for (const q of (S.review.form.sections || []).flatMap((s) => s.questions)) {
    const c = document.querySelector(`input[name="q-${CSS.escape(q.id)}"]:checked`);
    if (!c) continue;
    answers[q.id] = c.value === 'na' ? { na: true } : { value: Number(c.value) };
  }
  return { answers, comments: $('comments').value };
}

async function save(submit) {
  const ev = S.review.evaluation;
  try {
    const out = await api('PUT', '/qa/evaluations/' + ev.id, { ...collect(), submit });
    S.review.evaluation = out;
    drawState(out);
    drawForm(S.review.form, out);
    await loadQueue();
  } catch (e) {
    $('score-error').textContent = e.message;
  }
}

async function answer(kind) {
  const ev = S.review.evaluation;
  try {
    const body = kind === 'dispute' ? { reason: $('dispute-reason').value } : undefined;
    const out = await api('POST', `/qa/evaluations/${ev.id}/${kind}`, body);
    S.review.evaluation = out;
    drawState(out);
    await loadQueue();
  } catch (e) {
    toast(e.message);
  }
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('login-error').textContent = '';
  try {
    const r = await api('POST', '/sessions', { login: $('login').value.trim(), password: $('password').value });
    S.token = r.token;
    sessionStorage.setItem('sb-token', r.token);
    await start();
  } catch (err) {
    $('login-error').textContent = err.code === 'unauthenticated' ? 'Wrong login or password.' : err.message;
  }
});
$('score-form').addEventListener('submit', (e) => { e.preventDefault(); save(true); });
$('save-draft').addEventListener('click', () => save(false));
$('acknowledge').addEventListener('click', () => answer('acknowledge'));
$('dispute').addEventListener('click', () => answer('dispute'));
$('logout').addEventListener('click', async () => {
  try { await api('DELETE', '/sessions'); } catch { /* signing out regardless */ }
  signOut('Signed out.');
});

window.switchboard = Object.assign(window.switchboard || {}, { review: S, openReview: open });
S.token = sessionStorage.getItem('sb-token') || '';
if (S.token) start(); else signOut('');
