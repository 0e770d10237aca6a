// Switchboard "Call us" button for any site:
//
//   <script src="https://HOST/call/button.js" defer
//           data-entry="web" data-token="…" data-label="Call us" data-mode="popup"></script>
//
// adds a floating button that opens the call page of HOST. data-entry names the IVR
// entry point (default: the server's), data-token is the host's signed caller token
// (optional; see the package documentation for its format). data-mode "popup" (the
// default) opens the page in a small window and works on any site; "frame" opens it in
// a panel over the site (an iframe allowed the microphone), which needs the site in
// the server's allowed origins. Entry and token travel in the page's fragment, which
// no server or Referer sees. No framework, no build step; CSP-friendly: no inline
// script, styles set through CSSOM, text inserted as text.
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || window.__switchboardCallButton) return;
  window.__switchboardCallButton = true;
  var base = new URL(script.src, location.href);
  var page = new URL(base.pathname.replace(/\/button\.js$/, ''), base);
  var data = script.dataset;
  var params = new URLSearchParams();
  if (data.entry) params.set('entry', data.entry);
  if (data.token) params.set('token', data.token);
  page.hash = params.toString();
  var label = data.label || 'Call us';

  var S = {
    host: { position: 'fixed', right: '20px', bottom: '20px', zIndex: '2147483000', fontFamily: 'system-ui, sans-serif', fontSize: '15px' },
    button: { display: 'flex', alignItems: 'center', gap: '8px', minHeight: '48px', padding: '0 18px', borderRadius: '24px', border: 'none',
      background: '#1f7a3a', color: '#fff', fontSize: '15px', fontWeight: '600', cursor: 'pointer', boxShadow: '0 2px 8px rgba(0,0,0,.3)' },
    panel: { display: 'flex', flexDirection: 'column', width: '380px', maxWidth: 'calc(100vw - 40px)', height: '640px',
      maxHeight: 'calc(100vh - 100px)', marginBottom: '10px', background: '#fff', borderRadius: '10px', overflow: 'hidden',
      boxShadow: '0 4px 16px rgba(0,0,0,.3)' },
    bar: { display: 'flex', justifyContent: 'flex-end', padding: '4px', background: '#1b4aa8' },
    close: { minHeight: '32px', padding: '0 10px', border: '1px solid rgba(255,255,255,.7)', borderRadius: '4px', background: 'transparent',
      color: '#fff', cursor: 'pointer', font: 'inherit' },
    frame: { flex: '1', width: '100%', border: '0' }
  };

  // el builds an element: attributes, CSSOM styles, listeners, and text children.
  function el(tag, attrs) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (k === 'style') Object.assign(e.style, v);
      else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  var hostEl = el('div', { 'data-switchboard-call': '', style: S.host });
  var root = hostEl.attachShadow ? hostEl.attachShadow({ mode: 'open' }) : hostEl;
  var button = el('button', { type: 'button', style: S.button, onclick: open }, el('span', { 'aria-hidden': 'true' }, '📞'), label);
  var panel = null, popup = null;
  root.append(button);

  function open() {
    if (data.mode === 'frame') { openPanel(); return; }
    if (popup && !popup.closed) { popup.focus(); return; }
    popup = window.open(page.href, 'switchboard-call', 'popup=yes,width=400,height=680');
    if (!popup) openPanel(); // the popup was blocked: a panel instead
  }

  // openPanel shows the page in an iframe over the site; closing the panel unloads the
  // page, which hangs up.
  function openPanel() {
    if (panel) { panel.querySelector('iframe').focus(); return; }
    var frame = el('iframe', { src: page.href, title: label, allow: 'microphone; autoplay', style: S.frame });
    panel = el('div', { role: 'dialog', 'aria-label': label, style: S.panel },
      el('div', { style: S.bar }, el('button', { type: 'button', style: S.close, onclick: closePanel }, 'Close (hangs up)')), frame);
    root.insertBefore(panel, button);
    button.setAttribute('aria-expanded', 'true');
  }

  function closePanel() {
    if (!panel) return;
    panel.remove();
    panel = null;
    button.setAttribute('aria-expanded', 'false');
    button.focus();
  }

  (document.body || document.documentElement).append(hostEl);
})();
