// Knowledge base: agents search articles (excerpts with the matching
// words marked), read them and link them to tickets; supervisors and
// admins also write, edit and delete them. Everything goes through
// /api/v1 with the bearer token the other pages keep in sessionStorage.
// Text from the server is only ever inserted as text nodes (el()); the
// one exception is an article's body, which the server renders from
// Markdown without raw HTML and sanitizes with an allow list.
import { el } from './cti.js';
import { $, S, api, signOut, toast } from './page.js';

Object.assign(S, { article: null, editing: null });

const writer = () => S.me && S.me.role !== 'agent';

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
  $('who').textContent = `${S.me.name} (${S.me.role})`;
  $('new-article').hidden = !writer();
  await search();
  // The desk's suggested articles link here with ?article=<id>.
  const id = new URLSearchParams(location.search).get('article');
  if (id) await openArticle(id);
}

// excerpt draws a hit's excerpt, the matching words in <mark>.
function excerpt(spans) {
  return el('p', { class: 'excerpt' }, (spans || []).map((s) => (s.hit ? el('mark', {}, s.text) : s.text)));
}

function drawResults(items, label) {
  const ul = $('results');
  ul.replaceChildren(...items.map((h) => el('li', { class: 'result', dataset: { id: h.id } },
    el('button', { type: 'button', class: 'link', onclick: () => openArticle(h.id) }, h.title),
    el('span', { class: 'badge' }, h.category),
    el('span', { class: 'badge' }, h.language),
    h.visibility === 'public' ? el('span', { class: 'badge' }, 'public') : null,
    h.excerpt && h.excerpt.length ? excerpt(h.excerpt) : null)));
  $('results-status').textContent = label;
}

// searches counts the searches made, so that only the latest one's
// answer is drawn: answers may come back out of order.
let searches = 0;

// search runs the query in the box, or lists the latest articles when
// it is empty.
async function search() {
  const seq = ++searches;
  const q = $('q').value.trim();
  const lang = $('lang').value;
  try {
    if (!q) {
      const r = await api('GET', '/knowledge/articles?limit=20');
      if (seq === searches) drawResults(r.items, `${r.count} recent articles`);
      return;
    }
    const p = new URLSearchParams({ q, limit: '20' });
    if (lang) p.set('lang', lang);
    const r = await api('GET', '/knowledge/search?' + p);
    if (seq === searches) drawResults(r.items, r.count === 1 ? '1 article matches' : r.count ? `${r.count} articles match` : 'No article matches.');
  } catch (e) {
    if (seq === searches) toast(e.message);
  }
}

async function openArticle(id) {
  try {
    const a = await api('GET', '/knowledge/articles/' + encodeURIComponent(id));
    S.article = a;
    $('editor').hidden = true;
    $('article').hidden = false;
    $('article-h').textContent = a.title;
    $('article-meta').textContent = [a.category, a.language, a.visibility === 'public' ? 'public' : 'agents only',
      a.author_name ? 'by ' + a.author_name : '', 'updated ' + new Date(a.updated_at).toLocaleString(),
      `${a.views} views, ${a.uses} uses`].filter(Boolean).join(' · ');
    // Sanitized by the server (no raw HTML from the Markdown, then an allow list).
    $('article-body').innerHTML = a.html;
    $('article-actions').hidden = !writer();
    api('POST', `/knowledge/articles/${a.id}/uses`, { kind: 'viewed' }).catch(() => {});
  } catch (e) {
    toast(e.message);
  }
}

function edit(a) {
  S.editing = a;
  $('article').hidden = true;
  $('editor').hidden = false;
  $('editor-h').textContent = a ? 'Edit article' : 'New article';
  $('ed-title').value = a?.title || '';
  $('ed-category').value = a?.category || '';
  $('ed-language').value = a?.language || 'en';
  $('ed-visibility').value = a?.visibility || 'agents';
  $('ed-tags').value = (a?.tags || []).join(', ');
  $('ed-body').value = a?.body_markdown || '';
  $('editor-error').textContent = '';
  api('GET', '/knowledge/categories').then((r) => {
    $('categories').replaceChildren(...r.items.map((c) => el('option', { value: c })));
  }).catch(() => {});
  $('ed-title').focus();
}

async function save() {
  const body = {
    title: $('ed-title').value, category: $('ed-category').value, language: $('ed-language').value,
    visibility: $('ed-visibility').value, body_markdown: $('ed-body').value,
    tags: $('ed-tags').value.split(',').map((t) => t.trim()).filter(Boolean),
  };
  try {
    const a = S.editing
      ? await api('PUT', '/knowledge/articles/' + S.editing.id, body)
      : await api('POST', '/knowledge/articles', body);
    toast('Saved.');
    await search();
    await openArticle(a.id);
  } catch (e) {
    $('editor-error').textContent = e.field ? `${e.field}: ${e.message}` : e.message;
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
$('search-form').addEventListener('submit', (e) => { e.preventDefault(); search(); });
$('new-article').addEventListener('click', () => edit(null));
$('edit-article').addEventListener('click', () => edit(S.article));
$('cancel-edit').addEventListener('click', () => { $('editor').hidden = true; if (S.article) $('article').hidden = false; });
$('editor-form').addEventListener('submit', (e) => { e.preventDefault(); save(); });
$('delete-article').addEventListener('click', async () => {
  if (!S.article || !confirm(`Delete "${S.article.title}"?`)) return;
  try {
    await api('DELETE', '/knowledge/articles/' + S.article.id);
    S.article = null;
    $('article').hidden = true;
    await search();
  } catch (e) {
    toast(e.message);
  }
});
$('link-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    await api('POST', `/knowledge/articles/${S.article.id}/uses`, { kind: 'linked', ticket_number: Number($('link-ticket').value) });
    toast(`Linked to T-${$('link-ticket').value}.`);
  } catch (err) {
    toast(err.message);
  }
});
$('logout').addEventListener('click', async () => {
  try { await api('DELETE', '/sessions'); } catch { /* signing out regardless */ }
  signOut('Signed out.');
});

window.switchboard = Object.assign(window.switchboard || {}, { knowledge: S });
S.token = sessionStorage.getItem('sb-token') || '';
if (S.token) start(); else signOut('');
