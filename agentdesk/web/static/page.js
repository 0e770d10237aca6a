// Shared by the supervisors' pages (knowledge, review): the page state's
// session token, the toast, the REST call with the bearer token, and
// signing out. Each page adds its own fields to S.
export const $ = (id) => document.getElementById(id);
export const S = { token: '', me: null };

export function toast(msg) {
  const t = $('toast');
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toast.t);
  toast.t = setTimeout(() => { t.hidden = true; }, 5000);
}

// api calls /api/v1 with the token; an error body becomes a thrown Error
// carrying its code and field.
export async function api(method, path, body) {
  const opt = { method, headers: { Authorization: 'Bearer ' + S.token } };
  if (body !== undefined) {
    opt.headers['Content-Type'] = 'application/json';
    opt.body = JSON.stringify(body);
  }
  const r = await fetch('/api/v1' + path, opt);
  if (r.status === 401 && path !== '/sessions') { signOut('Session expired; sign in again.'); }
  const j = r.headers.get('Content-Type')?.startsWith('application/json') ? await r.json() : null;
  if (!r.ok) {
    const e = new Error(j?.error?.message || r.statusText);
    e.code = j?.error?.code; e.field = j?.error?.field; e.status = r.status;
    throw e;
  }
  return j;
}

export function signOut(msg) {
  sessionStorage.removeItem('sb-token');
  S.token = '';
  $('app').hidden = true;
  $('logout').hidden = true;
  $('login-view').hidden = false;
  $('login-error').textContent = msg || '';
}
