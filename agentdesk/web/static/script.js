// Call script panel: the script of the offered or current call's queue
// (GET /api/v1/scripts/for), one step at a time, its text filled from the
// screen pop; the answers follow the script's branches and are saved on
// the call's interaction (PUT /api/v1/interactions/{id}/script-answers).
// Text is always inserted as text, never as markup.
import { el } from './cti.js';

const $ = (id) => document.getElementById(id);

// vars maps the script variables (crmcore.ScriptVariables) to the pop's
// values.
function vars(pop, me) {
  const crm = (pop && pop.crm) || {};
  const c = crm.contact || {};
  const web = crm.web || {};
  const name = c.name || web.name || '';
  const t = (crm.open_tickets || [])[0] || {};
  return {
    'contact.name': name, 'contact.first_name': name.split(' ')[0] || '',
    'contact.email': (c.emails || [])[0] || c.email || web.email || '',
    'contact.phone': (c.phones || [])[0] || pop.ani || web.phone || '',
    'account.name': (crm.account || {}).name || '', 'agent.name': (me && me.name) || '',
    'queue': pop.queue || '', 'caller.number': pop.ani || '',
    'ticket.number': t.number || '', 'ticket.subject': t.subject || '',
  };
}

export function fill(text, v) {
  return String(text || '').replace(/\{\{\s*([^{}]*?)\s*\}\}/g, (_, k) => v[k] ?? '');
}

// Script keeps the panel's state: the script, where the agent is, the
// answers given so far (in order) and the interaction they belong to.
export class ScriptPanel {
  constructor(api, toast) {
    this.api = api;
    this.toast = toast;
    this.key = '';
    this.script = null;
  }

  // show loads the script for pop (an offer or the call's pop) unless it
  // is the one shown; a pop whose queue has no script hides the panel. The
  // script stays while there is no pop (between the call's end and its
  // wrap-up), and answers not saved yet are saved when the next call's
  // pop replaces it.
  async show(pop, me) {
    if (!pop || !pop.queue) return;
    const key = `${pop.call_id || pop.task_id}|${pop.queue}`;
    if (key === this.key) return;
    this.key = key;
    await this.saveIfAnswered();
    this.script = null;
    $('script').hidden = true;
    const iid = pop.crm && pop.crm.interaction_id;
    let sc;
    try {
      sc = await this.api('GET', '/scripts/for?queue=' + encodeURIComponent(pop.queue) +
        (pop.campaign ? '&campaign=' + encodeURIComponent(pop.campaign) : ''));
    } catch { return; } // no script for this queue
    if (this.key !== key) return;
    this.script = sc;
    this.interaction = iid || '';
    this.vars = vars(pop, me);
    this.answers = [];
    this.saved = 0;
    $('script-status').textContent = '';
    this.at = sc.steps[0].id;
    this.render();
  }

  step(id) { return this.script.steps.find((s) => s.id === id); }

  render() {
    const sc = this.script;
    $('script').hidden = false;
    $('script-name').textContent = sc.name;
    const st = this.step(this.at);
    const done = !st;
    const body = [];
    // The path so far, with the answers given.
    for (const a of this.answers) {
      body.push(el('li', { class: 'done' }, `${this.step(a.step).question.label || a.step}: ${a.value || '—'}`));
    }
    $('script-answered').replaceChildren(...body);
    $('script-title').textContent = done ? 'End of script' : (st.title || '');
    $('script-text').textContent = done ? '' : fill(st.text, this.vars);
    const box = $('script-input');
    box.replaceChildren();
    if (!done && st.question) {
      const q = st.question;
      box.append(el('label', { for: 'script-answer' }, q.label || 'Answer'));
      if (q.kind === 'choice' || q.kind === 'yes_no') {
        const choices = q.kind === 'yes_no' && !(q.choices || []).length ? [{ value: 'yes' }, { value: 'no' }] : q.choices;
        const values = q.kind === 'yes_no' ? ['yes', 'no'] : choices.map((c) => c.value);
        box.append(el('select', { id: 'script-answer' }, el('option', { value: '' }, '—'),
          ...values.map((v) => el('option', { value: v }, (choices.find((c) => c.value === v) || {}).label || v))));
      } else {
        box.append(el('input', { id: 'script-answer', type: q.kind === 'number' ? 'number' : 'text', step: 'any', maxlength: '1000' }));
      }
    }
    $('script-next').hidden = done;
    $('script-save').disabled = !this.interaction;
  }

  // next records the answer to the current step and moves along the
  // script's branch.
  next() {
    const st = this.step(this.at);
    if (!st) return;
    let to = st.next || '';
    if (st.question) {
      const v = $('script-answer').value.trim();
      if (!v && st.question.required) { this.toast('This question needs an answer'); return; }
      this.answers.push({ step: st.id, value: v });
      const c = (st.question.choices || []).find((x) => x.value === v);
      if (c && c.next) to = c.next;
    }
    this.at = to;
    this.render();
  }

  // saveIfAnswered saves answers not saved yet (at wrap-up).
  async saveIfAnswered() {
    if (this.script && this.answers.length && this.saved !== this.answers.length) await this.save();
  }

  async save() {
    if (!this.script || !this.interaction) return;
    try {
      const r = await this.api('PUT', `/interactions/${encodeURIComponent(this.interaction)}/script-answers`,
        { script_id: this.script.id, script_version: this.script.version, answers: this.answers });
      this.saved = r.answers.length;
      $('script-status').textContent = `Saved (${r.answers.length} answers)`;
    } catch (e) { this.toast('Script answers: ' + e.message); }
  }
}
