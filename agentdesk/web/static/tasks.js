// Task panels of the agent desktop: one panel per call or task on the
// desk (a call and three chats at once), each with its channel, state,
// pop and controls. Panels are kept across renders while their state is
// unchanged, so a note being typed survives other tasks' events.
import { el, fmtDuration } from './cti.js';

// popSegment is the customer's segment for the VIP badge: the contact's
// own; the account's only when the contact has none.
export function popSegment(crm) {
  const c = crm.contact || {};
  const acct = crm.account || {};
  return c.segment || acct.segment || crm.segment || '';
}

const panels = new Map(); // key → {sig, node}

// renderTasks draws S's call (offer or call) and tasks into box; ui gives
// cmd (send a CTI command), api (a REST call), toast and openTicket.
export function renderTasks(box, S, ui) {
  const want = [];
  const call = S.offer || S.call;
  if (call) {
    const state = S.offer ? 'offered' : (S.call.state === 'held' ? 'held' : 'talking');
    want.push({ key: 'call:' + call.call_id, sig: state, draw: () => callPanel(call, state, S) });
  }
  const tasks = [...S.tasks.values()].sort((a, b) => String(a.since).localeCompare(String(b.since)) || a.task_id.localeCompare(b.task_id));
  for (const t of tasks) want.push({ key: 'task:' + t.task_id, sig: t.state + '|' + (t.target || ''), draw: () => taskPanel(t, S, ui) });
  const keep = new Set(want.map((w) => w.key));
  for (const k of [...panels.keys()]) if (!keep.has(k)) panels.delete(k);
  const nodes = want.map((w) => {
    let p = panels.get(w.key);
    if (!p || p.sig !== w.sig) {
      p = { sig: w.sig, node: w.draw() };
      panels.set(w.key, p);
    }
    return p.node;
  });
  box.replaceChildren(...nodes);
}

// tickTasks refreshes the countdowns of offers and wrap-ups.
export function tickTasks(now) {
  for (const e of document.querySelectorAll('#task-panels [data-deadline]')) {
    const left = (Date.parse(e.dataset.deadline) - now) / 1000;
    e.textContent = Number.isFinite(left) ? (left > 0 ? fmtDuration(left) + ' left' : 'overdue') : '';
  }
}

function header(channel, title, state, deadline) {
  return el('header', { class: 'task-head' },
    el('span', { class: 'badge ch ch-' + channel }, channel),
    el('strong', { class: 'task-title' }, title),
    el('span', { class: 'badge task-state' }, state),
    deadline && Date.parse(deadline) > 0 ? el('span', { class: 'timer', dataset: { deadline } }, '') : null);
}

function customerFacts(pop, ui) {
  const crm = (pop && pop.crm) || {};
  const acct = crm.account || {};
  const tickets = crm.open_tickets || [];
  return [
    String(popSegment(crm)).toLowerCase() === 'vip' ? el('span', { class: 'badge vip' }, 'VIP') : null,
    el('dl', { class: 'facts' },
      el('dt', {}, 'Account'), el('dd', { class: 'f-account' }, acct.name || '—'),
      el('dt', {}, 'Queue'), el('dd', { class: 'f-queue' }, pop ? pop.queue : '—'),
      el('dt', {}, 'Waited'), el('dd', {}, fmtDuration((pop && pop.waited_s) || 0)),
      el('dt', {}, 'Why you'), el('dd', {}, ((pop && pop.routing_reasons) || []).join(', ') || '—')),
    tickets.length ? el('ul', { class: 'list' }, ...tickets.map((t) => el('li', {},
      el('button', { type: 'button', class: 'link', onclick: () => ui.openTicket(t.number || t.id) }, t.number || t.id),
      ` ${t.subject || ''}`))) : null,
  ];
}

function customerName(pop, fallback) {
  const c = ((pop && pop.crm) || {}).contact || {};
  return c.name || (pop && pop.customer) || fallback;
}

// callPanel is the call's summary; its controls are the softphone's.
function callPanel(call, state, S) {
  const pop = S.offer || (S.lastPop && S.lastPop.call_id === call.call_id ? S.lastPop : null);
  return el('article', { class: 'task-panel', dataset: { call: call.call_id, channel: call.channel || 'voice', state },
    'aria-label': `${call.channel || 'voice'} ${state}` },
  header(call.channel || 'voice', customerName(pop, call.ani || call.call_id), state, S.offer ? S.offer.deadline : ''),
  el('p', { class: 'muted' }, call.ani || ''));
}

function taskPanel(t, S, ui) {
  const id = t.task_id;
  const run = (type, data) => ui.cmd(type, { task_id: id, ...(data || {}) }).catch(() => {});
  const deadline = t.state === 'offered' || t.state === 'wrap-up' ? t.deadline : '';
  const actions = [];
  if (t.state === 'offered') {
    actions.push(el('button', { type: 'button', class: 'go t-accept', onclick: () => run('task.accept') }, 'Accept'),
      el('button', { type: 'button', class: 't-reject', onclick: () => run('task.reject') }, 'Reject'));
  } else if (t.state === 'active') {
    const kind = el('select', { 'aria-label': 'Transfer to' }, el('option', { value: 'queue' }, 'Queue'), el('option', { value: 'agent' }, 'Agent'));
    const value = el('input', { 'aria-label': 'Transfer target', placeholder: 'queue or agent id', required: true });
    actions.push(el('button', { type: 'button', class: 'stop t-complete', onclick: () => run('task.complete') }, 'Complete'),
      el('form', { class: 'inline t-transfer', onsubmit: (e) => {
        e.preventDefault();
        run('task.transfer', { target: { kind: kind.value, value: value.value.trim() } });
      } }, kind, value, el('button', { type: 'submit' }, 'Transfer')));
  } else if (t.state === 'wrap-up') {
    if (t.target) actions.push(el('p', {}, `Transferred to ${t.target}`));
    const disp = el('select', { 'aria-label': 'Disposition', required: true }, el('option', { value: '' }, 'Choose…'),
      ...S.dispositions.map((x) => el('option', { value: x.code }, x.label || x.code)));
    const notes = el('textarea', { rows: '2', 'aria-label': 'Notes' });
    // A chat may be kept under a ticket: an existing one, or a new one.
    const link = el('input', { class: 't-link-ticket', 'aria-label': 'Link ticket', placeholder: 'link ticket (T-1042)' });
    const subject = el('input', { class: 't-new-ticket', 'aria-label': 'New ticket subject', placeholder: 'or new ticket subject' });
    const tickets = t.channel === 'chat' ? [link, subject] : [];
    actions.push(el('form', { class: 't-wrap', onsubmit: (e) => {
      e.preventDefault();
      const data = { disposition: disp.value, notes: notes.value };
      if (link.value.trim()) data.link_ticket = link.value.trim();
      else if (subject.value.trim()) data.create_ticket = { subject: subject.value.trim() };
      ui.cmd('task.wrapup', { task_id: id, ...data })
        .then((r) => { if (r && r.ticket_id) ui.toast(`Chat kept under ticket ${r.ticket_id}`); })
        .catch(() => {});
    } }, disp, notes, ...tickets, el('button', { type: 'submit' }, 'Finish wrap-up')));
  } else if (t.state === 'transferred') {
    actions.push(el('p', {}, 'Transferred to ' + (t.target || '')));
  }
  return el('article', { class: 'task-panel', dataset: { task: id, channel: t.channel, state: t.state },
    'aria-label': `${t.channel} ${t.state}` },
  header(t.channel, customerName(t.pop, id), t.state, deadline),
  ...customerFacts(t.pop, ui),
  t.channel === 'email' && t.state === 'active' ? emailSection(t, ui, S) : null,
  t.channel === 'chat' && t.state === 'active' ? chatSection(t, ui, S) : null,
  el('div', { class: 'call-controls', role: 'group', 'aria-label': `${t.channel} ${id} controls` }, ...actions));
}

// attachmentList lists an email's attachments: a kept one is a link that
// downloads it (with the session's token, so through fetch and a blob),
// one not kept says why. Names are text, whatever the sender wrote.
function attachmentList(m, ui, S) {
  const as = m.attachments || [];
  if (!as.length) return null;
  const size = (n) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${Math.ceil(n / 1024)} KB`);
  return el('ul', { class: 'email-attachments', 'aria-label': 'Attachments' }, ...as.map((a) => {
    const what = ` (${a.content_type || 'unknown type'}, ${size(a.size || 0)})`;
    if (!a.url || !a.url.startsWith('/api/v1/tickets/')) {
      return el('li', { class: 'muted' }, a.name || 'attachment', what, a.not_kept ? ` · not kept: ${a.not_kept}` : '');
    }
    const link = el('a', { href: '#', class: 'email-attachment', onclick: (e) => {
      e.preventDefault();
      fetch(a.url, { headers: { Authorization: 'Bearer ' + S.token } }).then((r) => {
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        return r.blob();
      }).then((b) => {
        const url = URL.createObjectURL(b);
        const save = el('a', { href: url, download: a.name || 'attachment' });
        document.body.append(save);
        save.click();
        save.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60000);
      }).catch((err) => ui.toast('Attachment: ' + err.message));
    } }, a.name || 'attachment');
    return el('li', {}, link, what);
  }));
}

// emailSection is an email ticket's thread and the reply form: the
// messages are shown as text, whatever the customer sent.
function emailSection(t, ui, S) {
  const tk = ((t.pop && t.pop.crm) || {}).ticket || {};
  const number = tk.number || '';
  const thread = el('ol', { class: 'list email-thread', 'aria-label': `email thread ${number}` });
  const load = () => ui.api('GET', `/tickets/${encodeURIComponent(number)}/emails`).then((r) => {
    thread.replaceChildren(...(r.items || []).map((m) => el('li', { class: 'email ' + m.direction, dataset: { messageId: m.message_id } },
      el('div', { class: 'muted' }, `${m.direction === 'inbound' ? (m.from_name || m.from) : 'You'} · ${new Date(m.created_at).toLocaleString()}`),
      el('strong', {}, m.subject || ''),
      el('pre', { class: 'email-text' }, m.text || ''),
      attachmentList(m, ui, S))));
  }).catch((e) => ui.toast('Email thread: ' + e.message));
  const text = el('textarea', { rows: '5', 'aria-label': 'Reply', required: true });
  const cc = el('input', { 'aria-label': 'Cc', placeholder: 'cc (comma-separated)' });
  const pick = el('select', { 'aria-label': 'Canned response', onchange: () => { if (pick.value) text.value = pick.value; } },
    el('option', { value: '' }, 'Canned response…'));
  ui.api('GET', '/email/templates').then((r) => {
    for (const x of r.items || []) pick.append(el('option', { value: x.text }, x.name));
  }).catch(() => {});
  const form = el('form', { class: 'email-reply', onsubmit: (e) => {
    e.preventDefault();
    const list = cc.value.split(',').map((x) => x.trim()).filter(Boolean);
    ui.api('POST', `/tickets/${encodeURIComponent(number)}/emails`, { text: text.value, cc: list }).then(() => {
      text.value = '';
      cc.value = '';
      ui.toast(`Reply to ${number} queued`);
      load();
    }).catch((err) => ui.toast('Reply: ' + err.message));
  } }, pick, text, cc, el('button', { type: 'submit', class: 'go' }, 'Send reply'));
  if (number) load();
  return el('section', { class: 'email-box', 'aria-label': `email ${number}` },
    el('p', {}, el('button', { type: 'button', class: 'link', onclick: () => ui.openTicket(number) }, number), ` ${tk.subject || ''}`),
    thread, form);
}

// canned is the canned-response picker of a chat's composer: the help
// desk's templates (mail.templates), with the customer's and the agent's
// names filled in; the agent edits the text before sending it. Variables
// the chat cannot fill stay as they are, for the agent to see.
function canned(input, t, ui, S) {
  const crm = (t.pop && t.pop.crm) || {};
  const vars = { 'contact.name': crm.name || (crm.contact || {}).name || '', 'contact.email': crm.email || '',
    'agent.name': (S.me && S.me.name) || '' };
  const fill = (text) => text.replace(/\{\{\s*([a-z_.]+)\s*\}\}/g, (m, k) => (vars[k] ? vars[k] : m));
  const pick = el('select', { class: 'chat-canned', 'aria-label': 'Canned response', onchange: () => {
    if (pick.value) { input.value = fill(pick.value); input.focus(); }
    pick.value = '';
  } }, el('option', { value: '' }, 'Canned response…'));
  ui.api('GET', '/email/templates').then((r) => {
    for (const x of r.items || []) pick.append(el('option', { value: x.text }, x.name));
  }).catch(() => { pick.hidden = true; });
  return pick;
}

// chats are the chat panels on the desk, by task id: where chat events go.
const chats = new Map();

// onChatEvent hands a chat event (chat.message, chat.typing, chat.read,
// chat.ended) to its chat's panel.
export function onChatEvent(type, d) {
  const c = chats.get(d.task_id);
  if (c) c[type](d);
}

// chatSection is a chat's conversation and its composer. Messages are
// text nodes: whatever the customer types stays text.
function chatSection(t, ui, S) {
  const id = t.task_id;
  const seen = new Set();
  let lastCustomer = 0;
  let typingTimer = 0;
  let lastTyping = 0;
  const log = el('ol', { class: 'list chat-log', 'aria-label': 'chat messages', 'aria-live': 'polite' });
  const typing = el('p', { class: 'muted chat-typing', hidden: true }, 'The customer is typing…');
  const receipt = el('p', { class: 'muted chat-receipt' }, '');
  const add = (m) => {
    if (seen.has(m.seq)) return;
    seen.add(m.seq);
    const who = { customer: 'Customer', agent: 'You', bot: 'Bot', system: '' }[m.sender] ?? m.sender;
    const li = el('li', { class: 'chat-msg ' + m.sender, dataset: { seq: String(m.seq) } },
      who ? el('strong', {}, who + ': ') : null, el('span', { class: 'chat-text' }, m.text || ''));
    const after = [...log.children].find((x) => Number(x.dataset.seq) > m.seq);
    log.insertBefore(li, after || null);
    log.scrollTop = log.scrollHeight;
    if (m.sender === 'customer' && m.seq > lastCustomer) {
      lastCustomer = m.seq;
      if (t.state === 'active') ui.cmd('chat.read', { task_id: id, seq: m.seq }).catch(() => {});
    }
  };
  const input = el('textarea', { rows: '2', 'aria-label': 'Message', maxlength: '4000', oninput: () => {
    const now = Date.now();
    if (now - lastTyping > 3000) {
      lastTyping = now;
      ui.cmd('chat.typing', { task_id: id }).catch(() => {});
    }
  } });
  const form = el('form', { class: 'chat-compose', onsubmit: (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    ui.cmd('chat.send', { task_id: id, text }).then((r) => {
      input.value = '';
      add({ seq: r.seq, sender: 'agent', text });
    }).catch((err) => ui.toast('Chat: ' + err.message));
  } }, canned(input, t, ui, S), input, el('button', { type: 'submit', class: 'go' }, 'Send'));
  chats.set(id, {
    'chat.message': (d) => { typing.hidden = true; add(d.message); },
    'chat.typing': () => {
      typing.hidden = false;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => { typing.hidden = true; }, 5000);
    },
    'chat.read': (d) => { receipt.textContent = `Read up to message ${d.seq}`; },
    'chat.ended': () => { receipt.textContent = 'The customer left the chat.'; form.hidden = true; },
  });
  ui.cmd('chat.history', { task_id: id }).then((r) => { for (const m of r.messages || []) add(m); })
    .catch((err) => ui.toast('Chat history: ' + err.message));
  const transcript = el('button', { type: 'button', class: 'link chat-transcript', onclick: () => {
    ui.api('POST', `/chats/${encodeURIComponent(id)}/transcript`).then(() => ui.toast('Transcript emailed to the customer'))
      .catch((err) => ui.toast('Transcript: ' + err.message));
  } }, 'Email the transcript');
  return el('section', { class: 'chat-box', 'aria-label': 'chat ' + id }, log, typing, receipt, form, transcript);
}
