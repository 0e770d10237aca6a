// Switchboard web caller: the page behind "Call us". The browser asks for the
// microphone, gathers every ICE candidate, posts its offer (PCMU and
// telephone-event only) with the caller's identity to /call/offer and applies the
// answer: no trickle. Keypad digits go as RFC 4733 telephone-events
// (RTCDTMFSender). Every text shown is set as text (textContent), never markup.
// The page's fragment may carry entry=<IVR entry> and token=<host site's signed
// token>; a fragment never reaches a server or a Referer.
(function () {
  'use strict';
  var script = document.currentScript;
  var offerURL = new URL('offer', script.src).href;
  // A popup opened by a host site's button keeps no handle on that site.
  if (window.opener) window.opener = null;

  function $(id) { return document.getElementById(id); }
  var app = $('app'), status = $('status'), error = $('error'), form = $('who'), callBtn = $('call');
  var incall = $('incall'), timerEl = $('timer'), digitsEl = $('digits'), muteBtn = $('mute'), mutedEl = $('muted');
  var audio = $('remote');
  var fields = { name: $('name'), email: $('email'), phone: $('phone') };

  var state = 'idle';
  var pc = null, stream = null, sender = null, abort = null, ticker = null, connectedAt = 0;
  var attempt = 0; // bumped by every teardown: late results of an older attempt are dropped

  // params reads the fragment: the entry point and the host site's token.
  function params() {
    var p = new URLSearchParams(location.hash.slice(1));
    return { entry: p.get('entry') || '', token: p.get('token') || '' };
  }

  // showIdentity hides the form when a host site vouches for the caller.
  function showIdentity() {
    var signed = !!params().token;
    $('who-fields').hidden = signed;
    $('signed-in').hidden = !signed;
  }

  // setState shows one of idle, connecting, ivr (connected: the menu and then the
  // queue and the agent) and ended.
  function setState(s, text) {
    state = s;
    app.dataset.state = s;
    status.textContent = text;
    var busy = s === 'connecting' || s === 'ivr';
    form.hidden = busy;
    incall.hidden = !busy;
    callBtn.textContent = s === 'ended' ? 'Call again' : 'Call us';
    keypad(s === 'ivr');
  }

  function keypad(on) {
    document.querySelectorAll('#keypad button').forEach(function (b) { b.disabled = !on; });
    muteBtn.disabled = !on;
  }

  function showError(text, field) {
    error.textContent = text;
    error.hidden = false;
    if (field && fields[field] && !fields[field].closest('[hidden]')) {
      fields[field].setAttribute('aria-invalid', 'true');
      fields[field].focus();
    }
  }

  function clearError() {
    error.hidden = true;
    error.textContent = '';
    Object.keys(fields).forEach(function (k) { fields[k].removeAttribute('aria-invalid'); });
  }

  function micMessage(e) {
    switch (e && e.name) {
      case 'NotAllowedError':
      case 'SecurityError':
        return 'Microphone access was denied. Allow the microphone for this site (the icon in the address bar), then press Call us again.';
      case 'NotFoundError':
      case 'OverconstrainedError':
        return 'No microphone was found. Connect one, then press Call us again.';
      case 'NotReadableError':
      case 'AbortError':
        return 'Your microphone is busy or unavailable (another application may be using it).';
      default:
        return 'The microphone could not be opened.';
    }
  }

  function supported() {
    if (!window.isSecureContext) return 'Calls need a secure (https) connection to this page.';
    if (!window.RTCPeerConnection || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return 'This browser cannot place calls. Please use a recent Chrome, Edge, Firefox or Safari.';
    }
    return '';
  }

  async function start(ev) {
    ev.preventDefault();
    if (state === 'connecting' || state === 'ivr') return;
    clearError();
    var why = supported();
    if (why) { showError(why); return; }
    var my = ++attempt;
    setState('connecting', 'Allow the microphone when your browser asks.');
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    } catch (e) {
      if (my !== attempt) return;
      teardown();
      setState('idle', 'The call did not start.');
      showError(micMessage(e));
      return;
    }
    if (my !== attempt) { stopStream(stream); return; }
    setState('connecting', 'Connecting…');
    try {
      await connect(my);
    } catch (e) {
      if (my !== attempt) return;
      teardown();
      setState('idle', 'The call did not start.');
      showError(e.message || 'The call could not be placed.', e.field);
    }
  }

  async function connect(my) {
    var p = new RTCPeerConnection({ iceServers: [] });
    pc = p;
    p.onconnectionstatechange = function () {
      if (p !== pc) return;
      switch (p.connectionState) {
        case 'connected':
          connected();
          break;
        case 'disconnected':
          status.textContent = 'The connection is unstable…';
          break;
        case 'failed':
          ended('The call was cut off.', 'The connection to us was lost.');
          break;
        case 'closed':
          ended('Call ended. Thank you for calling.');
          break;
      }
    };
    p.ontrack = function (ev) {
      audio.srcObject = ev.streams[0] || new MediaStream([ev.track]);
      audio.play().catch(function () {});
    };
    var track = stream.getAudioTracks()[0];
    var tr = p.addTransceiver(track, { direction: 'sendrecv', streams: [stream] });
    sender = tr.sender;
    // PCMU and telephone-event only: what the contact center answers.
    var caps = window.RTCRtpSender && RTCRtpSender.getCapabilities ? RTCRtpSender.getCapabilities('audio') : null;
    if (caps && tr.setCodecPreferences) {
      var want = caps.codecs.filter(function (c) {
        var m = c.mimeType.toLowerCase();
        return c.clockRate === 8000 && (m === 'audio/pcmu' || m === 'audio/telephone-event');
      });
      if (want.length) tr.setCodecPreferences(want);
    }
    await p.setLocalDescription(await p.createOffer());
    await gathered(p);
    if (my !== attempt) return;
    var ps = params();
    var body = { sdp: p.localDescription.sdp, entry: ps.entry };
    if (ps.token) body.token = ps.token;
    else {
      body.name = fields.name.value;
      body.email = fields.email.value;
      body.phone = fields.phone.value;
    }
    abort = new AbortController();
    var res;
    try {
      res = await fetch(offerURL, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
        credentials: 'omit', cache: 'no-store', signal: abort.signal
      });
    } catch (e) {
      if (my !== attempt) return;
      throw callError('We could not reach the contact center. Check your connection and try again.');
    }
    var data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (my !== attempt) return;
    if (!res.ok || !data || typeof data.sdp !== 'string') {
      var err = data && data.error ? data.error : {};
      throw callError(typeof err.message === 'string' ? err.message : 'The call could not be placed (error ' + res.status + ').',
        typeof err.field === 'string' ? err.field : '');
    }
    await p.setRemoteDescription({ type: 'answer', sdp: data.sdp });
    // The contact center hanging up closes the DTLS transport.
    if (sender.transport) {
      sender.transport.onstatechange = function () {
        if (p !== pc) return;
        var s = sender && sender.transport ? sender.transport.state : '';
        if (s === 'closed') ended('Call ended. Thank you for calling.');
        else if (s === 'failed') ended('The call was cut off.', 'The connection to us was lost.');
      };
    }
    if (p.connectionState === 'connected') connected();
  }

  function callError(message, field) {
    var e = new Error(message);
    e.field = field || '';
    return e;
  }

  function gathered(p) {
    if (p.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise(function (resolve) {
      var t = setTimeout(done, 3000); // send what we have
      function done() {
        clearTimeout(t);
        p.removeEventListener('icegatheringstatechange', check);
        resolve();
      }
      function check() { if (p.iceGatheringState === 'complete') done(); }
      p.addEventListener('icegatheringstatechange', check);
    });
  }

  // connected starts the call's display, or restores it after an unstable spell.
  function connected() {
    var text = 'Connected. Listen to the menu and use the keypad when asked.';
    if (state === 'ivr') { status.textContent = text; return; }
    connectedAt = Date.now();
    setState('ivr', text);
    tick();
    ticker = setInterval(tick, 1000);
  }

  function tick() {
    var s = Math.floor((Date.now() - connectedAt) / 1000);
    var m = Math.floor(s / 60);
    s %= 60;
    timerEl.textContent = m + ':' + (s < 10 ? '0' : '') + s;
  }

  function sendDigit(d) {
    if (state !== 'ivr') return;
    var dtmf = sender && sender.dtmf;
    if (!dtmf || !dtmf.canInsertDTMF) {
      showError('This browser cannot send keypad tones on this call.');
      return;
    }
    // insertDTMF replaces the tones not yet played: append to them.
    dtmf.insertDTMF(dtmf.toneBuffer + d, 160, 70);
    digitsEl.textContent = (digitsEl.textContent + d).slice(-32);
    var b = document.querySelector('#keypad button[data-digit="' + d + '"]');
    if (b) {
      b.classList.add('pressed');
      setTimeout(function () { b.classList.remove('pressed'); }, 150);
    }
  }

  function mute(on) {
    if (stream) stream.getAudioTracks().forEach(function (t) { t.enabled = !on; });
    muteBtn.setAttribute('aria-pressed', on ? 'true' : 'false');
    muteBtn.textContent = on ? 'Unmute' : 'Mute';
    mutedEl.hidden = !on;
  }

  function stopStream(s) {
    if (s) s.getTracks().forEach(function (t) { t.stop(); });
  }

  // teardown ends the media and the peer connection; the contact center sees the
  // DTLS close and the end of ICE, and ends the call.
  function teardown() {
    attempt++;
    if (abort) abort.abort();
    abort = null;
    var p = pc;
    pc = null;
    if (p) {
      p.onconnectionstatechange = null;
      p.ontrack = null;
      p.close();
    }
    stopStream(stream);
    stream = null;
    sender = null;
    clearInterval(ticker);
    ticker = null;
    audio.srcObject = null;
    mute(false);
  }

  function ended(text, problem) {
    if (state === 'idle' || state === 'ended') return;
    teardown();
    digitsEl.textContent = '';
    setState('ended', text);
    if (problem) showError(problem);
  }

  form.addEventListener('submit', start);
  $('hangup').addEventListener('click', function () { ended('You hung up. Thank you for calling.'); });
  muteBtn.addEventListener('click', function () { mute(muteBtn.getAttribute('aria-pressed') !== 'true'); });
  $('keypad').addEventListener('click', function (ev) {
    var b = ev.target.closest('button[data-digit]');
    if (b) sendDigit(b.dataset.digit);
  });
  document.addEventListener('keydown', function (ev) {
    if (state !== 'ivr' || ev.ctrlKey || ev.metaKey || ev.altKey || /^(INPUT|TEXTAREA|SELECT)$/.test(ev.target.tagName)) return;
    if (/^[0-9*#]$/.test(ev.key)) {
      ev.preventDefault();
      sendDigit(ev.key);
    }
  });
  // Leaving the page hangs up.
  window.addEventListener('pagehide', function () { ended('Call ended.'); });

  // A host site's button may open the page again with a new fragment.
  window.addEventListener('hashchange', showIdentity);
  showIdentity();
  setState('idle', status.textContent);

  // For diagnostics (and the browser tests): the live peer connection and the state.
  window.switchboardCall = {
    get pc() { return pc; },
    get state() { return state; }
  };
})();
