// Softphone: one persistent WebRTC PeerConnection per login session (the
// "nailed-up" agent leg). Signalling is non-trickle over CTI: the browser
// gathers every ICE candidate, sends webrtc.offer {sdp} and applies the
// answer. Only PCMU (+ telephone-event for DTMF) is offered, which is what
// the gateway accepts. Calls are answered with the CTI "call.answer"
// command; audio then flows over this already-connected leg.

export class Softphone extends EventTarget {
  constructor(cti, audioEl) {
    super();
    this.cti = cti;
    this.audio = audioEl;
    this.pc = null;
    this.stream = null;
    this.sender = null;
    this.state = 'idle';
  }

  setState(s) {
    this.state = s;
    this.dispatchEvent(new CustomEvent('state', { detail: s }));
  }

  async connect() {
    this.disconnect(false);
    this.setState('connecting');
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    pc.onconnectionstatechange = () => {
      if (pc !== this.pc) return;
      const s = pc.connectionState;
      if (s === 'connected') this.setState('connected');
      else if (s === 'failed' || s === 'closed' || s === 'disconnected') this.setState(s);
    };
    pc.ontrack = (ev) => {
      this.audio.srcObject = ev.streams[0] || new MediaStream([ev.track]);
      this.audio.play().catch(() => {});
    };
    this.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    const track = this.stream.getAudioTracks()[0];
    const tr = pc.addTransceiver(track, { direction: 'sendrecv', streams: [this.stream] });
    this.sender = tr.sender;
    // Offer PCMU and telephone-event only.
    const caps = RTCRtpSender.getCapabilities ? RTCRtpSender.getCapabilities('audio') : null;
    if (caps && tr.setCodecPreferences) {
      const want = caps.codecs.filter((c) => {
        const m = c.mimeType.toLowerCase();
        return (m === 'audio/pcmu' && c.clockRate === 8000) || (m === 'audio/telephone-event' && c.clockRate === 8000);
      });
      if (want.length) tr.setCodecPreferences(want);
    }
    await pc.setLocalDescription(await pc.createOffer());
    await waitGathering(pc);
    const reply = await this.cti.send('webrtc.offer', { sdp: pc.localDescription.sdp });
    if (pc !== this.pc) return;
    await pc.setRemoteDescription({ type: 'answer', sdp: reply.sdp });
    if (pc.connectionState !== 'connected') this.setState('negotiated');
  }

  // dtmf sends RFC 4733 digits on the leg.
  dtmf(digits) {
    if (this.sender && this.sender.dtmf && this.sender.dtmf.canInsertDTMF) {
      this.sender.dtmf.insertDTMF(digits, 120, 70);
      return true;
    }
    return false;
  }

  mute(on) {
    if (this.stream) for (const t of this.stream.getAudioTracks()) t.enabled = !on;
  }

  disconnect(tell = true) {
    if (this.pc) {
      this.pc.close();
      this.pc = null;
      if (tell) this.cti.send('webrtc.hangup').catch(() => {});
    }
    if (this.stream) {
      for (const t of this.stream.getTracks()) t.stop();
      this.stream = null;
    }
    this.sender = null;
    this.setState('idle');
  }
}

function waitGathering(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState === 'complete') {
        pc.removeEventListener('icegatheringstatechange', done);
        resolve();
      }
    };
    pc.addEventListener('icegatheringstatechange', done);
    setTimeout(resolve, 3000); // send what we have
  });
}
