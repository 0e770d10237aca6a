// Preview campaigns on the desk: the agent takes the next contact of a
// running preview campaign (campaign.preview), sees who it is with their
// CRM record, and clicks Dial (campaign.dial). The call then goes as a
// click-to-dial does: the agent's phone rings first and the usual call
// events follow, so the panel only clears. Errors are shown in the panel,
// not as toasts: "nothing to call" is an answer, not a failure. The panel
// shows only when hello says the server serves campaigns.
import { el } from './cti.js';
import { popSegment } from './tasks.js';

const $ = (id) => document.getElementById(id);

// errorText says in words why a campaign command was refused.
function errorText(e) {
  switch (e.code) {
    case 'no_contact': return 'Nothing to call right now';
    case 'not_found': return 'This contact is no longer held for you: take the next one';
    case 'invalid_state': return 'Finish the current call first';
    case 'disconnected': return 'Not connected; try again in a moment';
    default: return e.message || 'Refused';
  }
}

export class CampaignPanel {
  // send issues a CTI command (resolves with the ok data, rejects with
  // the error's code and message); onDial is told of a placed call
  // ({call_id, number}); openTicket opens a ticket by number.
  constructor({ send, onDial, openTicket }) {
    this.send = send;
    this.onDial = onDial;
    this.openTicket = openTicket;
    this.contact = null;
    this.busy = false;
    $('camp-next').addEventListener('click', () => this.next());
    $('camp-dial').addEventListener('click', () => this.dial());
  }

  // show shows the panel when the server serves campaigns (hello.campaigns).
  show(on) {
    $('campaign').hidden = !on;
    if (!on) this.draw(null, '');
  }

  async next() {
    if (this.busy) return;
    this.setBusy(true);
    try {
      this.draw(await this.send('campaign.preview', {}), '');
    } catch (e) {
      this.draw(null, errorText(e), true);
    } finally {
      this.setBusy(false);
    }
  }

  async dial() {
    const c = this.contact;
    if (!c || this.busy) return;
    this.setBusy(true);
    try {
      const r = await this.send('campaign.dial', { dial_id: c.dial_id });
      this.onDial({ call_id: r.call_id, number: c.number });
      this.draw(null, `Calling ${c.name || c.number}: your phone rings first`);
    } catch (e) {
      // A contact no longer held cannot be dialled again: clear it.
      this.draw(e.code === 'not_found' ? null : c, errorText(e), true);
    } finally {
      this.setBusy(false);
    }
  }

  setBusy(b) {
    this.busy = b;
    $('camp-next').disabled = b;
    $('camp-dial').disabled = b || !this.contact;
  }

  // draw shows contact c (none when null) and a message below the button.
  draw(c, msg, isError = false) {
    this.contact = c;
    $('camp-msg').textContent = msg;
    $('camp-msg').classList.toggle('error', isError);
    $('camp-contact').hidden = !c;
    $('camp-dial').disabled = this.busy || !c;
    $('campaign').dataset.dialId = c ? c.dial_id : '';
    if (!c) return;
    const crm = c.crm || null;
    const contact = (crm && crm.contact) || {};
    const acct = (crm && crm.account) || {};
    $('camp-name').textContent = c.name || contact.name || c.number;
    $('camp-vip').hidden = !crm || String(popSegment(crm)).toLowerCase() !== 'vip';
    $('camp-number').textContent = c.number;
    $('camp-campaign').textContent = c.campaign_name || c.campaign_id;
    $('camp-attempt').textContent = String(c.attempt || 1);
    $('camp-account').textContent = crm ? (acct.name || contact.account_id || '—') : 'Not in the CRM';
    const tickets = (crm && crm.open_tickets) || [];
    $('camp-tickets').replaceChildren(...(tickets.length ? tickets.map((t) => el('li', {},
      el('button', { type: 'button', class: 'link', onclick: () => this.openTicket(t.number || t.id) }, t.number || t.id),
      ` ${t.subject || ''} `, el('span', { class: 'badge' }, t.status || ''))) : [el('li', {}, 'None')]));
  }
}
