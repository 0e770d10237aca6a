package media

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
)

// FrameSamples is the number of samples in one 20 ms frame at 8 kHz.
const FrameSamples = 160

// FrameDuration is the packetisation interval (ptime 20).
const FrameDuration = 20 * time.Millisecond

// NoDTMF is the DTMFPayloadType of a session without telephone-event.
const NoDTMF = -1

const maxPacket = 1500

// ErrSessionClosed is returned by writes on a session whose Run has ended.
var ErrSessionClosed = errors.New("media: session closed")

// SessionConfig configures a Session.
type SessionConfig struct {
	Codec           Codec // negotiated audio codec (both directions)
	DTMFPayloadType int   // negotiated telephone-event payload type, or NoDTMF
	SSRC            uint32
	// RTCPInterval is the report interval (default 5 s).
	RTCPInterval time.Duration
}

// Quality is a snapshot of one leg's RTP statistics: what we received
// (computed locally as in RFC 3550 A.3/A.8) and what the far end reported
// in its RTCP receiver reports about our stream.
type Quality struct {
	PacketsReceived uint64
	PacketsSent     uint64
	PacketsLost     int64         // expected − received on the incoming stream
	Jitter          time.Duration // interarrival jitter of the incoming stream
	RemoteLost      int64         // cumulative loss the far end reports
	RemoteJitter    time.Duration // jitter the far end reports
	RemoteFraction  float64       // fraction lost (0–1) in the last far-end report
	RemoteReported  bool          // a far-end RTCP report about our stream arrived
}

// Session is the media endpoint of one leg. Run owns the receive side:
// it reads packets, detects DTMF, keeps statistics, feeds audio taps and
// relays to the bridged peer. The send side (relayed packets, playback,
// generated DTMF) is serialised by a mutex and keeps one continuous
// outgoing stream (own SSRC, sequence numbers and timestamps rewritten)
// across sources, so the far end sees no discontinuity on hold, transfer
// or prompt changes. Every method is safe for concurrent use.
type Session struct {
	tr    Transport
	ssrc  uint32
	start time.Time

	codec  atomic.Uint32
	dtmfPT atomic.Int32

	peer     atomic.Pointer[Session]
	taps     atomic.Pointer[[]*tap]
	sendTaps atomic.Pointer[[]*tap]
	onDigit  atomic.Pointer[func(byte)]
	onPanic  atomic.Pointer[func(any, []byte)]
	tapMu    sync.Mutex

	// Receive state, owned by whoever delivers packets (Run, or the
	// socket reader of a pushing transport).
	pushed bool    // packets arrive through HandlePacket, not ReadPacket
	pcm    []int16 // decoded audio for taps, made with the first tap
	det    DTMFDetector
	rx     rxStats
	rxMu   sync.Mutex

	// Send state.
	mu          sync.Mutex
	wbuf        [maxPacket]byte
	sendOn      bool
	started     bool
	seq         uint16
	ts          uint32
	lastSend    time.Time
	lastSrc     any
	lastInSSRC  uint32
	seqOff      uint16
	tsOff       uint32
	sent        atomic.Uint64
	sentOctets  atomic.Uint64
	spcm        []int16 // decoded relayed audio for send taps, made with the first
	remoteStats atomic.Pointer[rtcp.ReceptionReport]
	rtcpIvl     time.Duration

	closed atomic.Bool
	done   chan struct{}
}

type tap struct{ f func([]int16) }

type rxStats struct {
	init              bool
	ssrc              uint32
	baseSeq, maxSeq   uint16
	cycles            uint32
	received          uint64
	jitter            float64
	lastTransit       int64
	expectedPrior     uint32
	receivedPrior     uint64
	lastSRNTP         uint32
	lastSRRecv        time.Time
	fractionLostPrior uint8
}

// NewSession creates a session on tr. Call Run to start receiving.
func NewSession(tr Transport, cfg SessionConfig) *Session {
	s := &Session{tr: tr, ssrc: cfg.SSRC, start: time.Now(), sendOn: true, done: make(chan struct{}), rtcpIvl: cfg.RTCPInterval}
	if s.ssrc == 0 {
		s.ssrc = rand.Uint32()
	}
	if s.rtcpIvl <= 0 {
		s.rtcpIvl = 5 * time.Second
	}
	s.seq = uint16(rand.Uint32())
	s.ts = rand.Uint32()
	s.codec.Store(uint32(cfg.Codec))
	s.dtmfPT.Store(int32(cfg.DTMFPayloadType))
	if a, ok := tr.(interface{ attach(*Session) }); ok {
		a.attach(s) // a transport that pushes packets (MuxLeg)
		s.pushed = true
	}
	return s
}

// SSRC returns the synchronisation source of the outgoing stream.
func (s *Session) SSRC() uint32 { return s.ssrc }

// Codec returns the negotiated audio codec.
func (s *Session) Codec() Codec { return Codec(s.codec.Load()) }

// DTMFPayloadType returns the negotiated telephone-event payload type or NoDTMF.
func (s *Session) DTMFPayloadType() int { return int(s.dtmfPT.Load()) }

// SetFormat changes the negotiated codec and DTMF payload type (re-INVITE).
func (s *Session) SetFormat(c Codec, dtmfPT int) {
	s.codec.Store(uint32(c))
	s.dtmfPT.Store(int32(dtmfPT))
}

// Transport returns the session's transport.
func (s *Session) Transport() Transport { return s.tr }

// SetSending enables or disables everything the session sends (the far
// end put us on hold with sendonly/inactive).
func (s *Session) SetSending(on bool) {
	s.mu.Lock()
	s.sendOn = on
	s.mu.Unlock()
}

// SetPeer relays audio and DTMF received on s to p (nil stops relaying).
// A bridge sets it on both sessions.
func (s *Session) SetPeer(p *Session) { s.peer.Store(p) }

// Unpeer stops s relaying to p; a newer peer set since is kept.
func (s *Session) Unpeer(p *Session) { s.peer.CompareAndSwap(p, nil) }

// Peer returns the session s relays to, or nil.
func (s *Session) Peer() *Session { return s.peer.Load() }

// OnDigit sets the callback for DTMF digits received as telephone-events.
// It runs on the receive goroutine and must not block.
func (s *Session) OnDigit(f func(byte)) { s.onDigit.Store(&f) }

// OnPanic sets f to be told of a panic recovered while the session
// handled a received packet (in a digit callback, an audio tap, the
// bridged peer): the session is closed — its leg ends — and f receives the
// panic value and the stack, on a goroutine of its own. Without f the
// session is closed all the same: a packet never takes a socket's reader,
// and the other legs it serves, down with it.
func (s *Session) OnPanic(f func(v any, stack []byte)) { s.onPanic.Store(&f) }

// handle is HandlePacket for the goroutines that deliver packets, which
// must survive a panic in it.
func (s *Session) handle(b []byte) {
	defer s.recoverPanic()
	s.HandlePacket(b)
}

// handleRTCP is HandleRTCP for the goroutines that deliver packets.
func (s *Session) handleRTCP(b []byte) {
	defer s.recoverPanic()
	s.HandleRTCP(b)
}

// recoverPanic ends the session after a panic in handle. Closing happens
// on another goroutine: a shared socket's reader holds the lock that
// closing a leg takes.
func (s *Session) recoverPanic() {
	v := recover()
	if v == nil {
		return
	}
	stack := debug.Stack()
	f := s.onPanic.Load()
	go func() {
		_ = s.Close()
		if f != nil {
			(*f)(v, stack)
		}
	}()
}

// AddTap registers f to receive every decoded incoming audio frame. f runs
// on the receive goroutine, must not block and must not keep the slice.
// The returned function removes the tap.
func (s *Session) AddTap(f func([]int16)) (remove func()) { return s.addTap(&s.taps, f) }

// AddSendTap registers f to receive every audio frame the session sends —
// relayed from its peer, played, mixed — decoded: what the far end hears.
// f runs with the send lock held, must not block and must not keep the
// slice. The returned function removes the tap.
func (s *Session) AddSendTap(f func([]int16)) (remove func()) { return s.addTap(&s.sendTaps, f) }

func (s *Session) addTap(list *atomic.Pointer[[]*tap], f func([]int16)) (remove func()) {
	t := &tap{f: f}
	s.tapMu.Lock()
	defer s.tapMu.Unlock()
	var cur []*tap
	if p := list.Load(); p != nil {
		cur = *p
	}
	next := append(append([]*tap(nil), cur...), t)
	list.Store(&next)
	return func() {
		s.tapMu.Lock()
		defer s.tapMu.Unlock()
		var cur []*tap
		if p := list.Load(); p != nil {
			cur = *p
		}
		next := make([]*tap, 0, len(cur))
		for _, x := range cur {
			if x != t {
				next = append(next, x)
			}
		}
		list.Store(&next)
	}
}

// Done is closed when Run has returned.
func (s *Session) Done() <-chan struct{} { return s.done }

// Run receives until ctx ends or the transport fails, then closes the
// transport. It also runs the RTCP reporter when the transport has RTCP.
func (s *Session) Run(ctx context.Context) error {
	defer close(s.done)
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	if rt, ok := s.tr.(RTCPTransport); ok {
		rctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); s.rtcpSender(rctx, rt) }()
		if !s.pushed {
			wg.Add(1)
			go func() { defer wg.Done(); s.rtcpReader(rt) }()
		}
		defer wg.Wait()
		defer cancel()
	}
	defer s.Close()
	if s.pushed {
		// The transport's socket reader delivers RTP and RTCP; ReadPacket
		// only reports the end of the leg.
		_, err := s.tr.ReadPacket(nil)
		if ctx.Err() != nil || s.closed.Load() {
			return nil
		}
		return err
	}
	buf := make([]byte, maxPacket)
	for {
		n, err := s.tr.ReadPacket(buf)
		if err != nil {
			if ctx.Err() != nil || s.closed.Load() {
				return nil
			}
			return err
		}
		s.handle(buf[:n])
	}
}

// Close closes the transport; Run returns. It is idempotent.
func (s *Session) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.tr.Close()
}

// rtpHeader is the parsed fixed header of a packet.
type rtpHeader struct {
	marker  bool
	pt      uint8
	seq     uint16
	ts      uint32
	ssrc    uint32
	payload []byte
}

func parseRTP(b []byte) (h rtpHeader, ok bool) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return h, false
	}
	cc := int(b[0] & 0x0F)
	off := 12 + 4*cc
	if len(b) < off {
		return h, false
	}
	if b[0]&0x10 != 0 { // extension
		if len(b) < off+4 {
			return h, false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
		if len(b) < off {
			return h, false
		}
	}
	end := len(b)
	if b[0]&0x20 != 0 { // padding
		pad := int(b[end-1])
		if pad == 0 || end-pad < off {
			return h, false
		}
		end -= pad
	}
	h.marker = b[1]&0x80 != 0
	h.pt = b[1] & 0x7F
	h.seq = binary.BigEndian.Uint16(b[2:])
	h.ts = binary.BigEndian.Uint32(b[4:])
	h.ssrc = binary.BigEndian.Uint32(b[8:])
	h.payload = b[off:end]
	return h, true
}

// HandlePacket processes one received RTP packet (Run calls it; exported
// for benchmarks and for transports that push packets).
func (s *Session) HandlePacket(b []byte) {
	h, ok := parseRTP(b)
	if !ok {
		return
	}
	dpt := s.dtmfPT.Load()
	codec := s.Codec()
	now := time.Now()
	switch {
	case dpt >= 0 && int32(h.pt) == dpt:
		s.rxMu.Lock()
		s.rx.update(h, now, s.start, false)
		s.rxMu.Unlock()
		if d, ok := s.det.Feed(h.ts, h.payload); ok {
			if f := s.onDigit.Load(); f != nil {
				(*f)(d)
			}
		}
		if p := s.peer.Load(); p != nil {
			p.forward(s, h, true, codec)
		}
	case h.pt == uint8(codec) || h.pt == uint8(PCMU) || h.pt == uint8(PCMA):
		in := Codec(h.pt)
		s.rxMu.Lock()
		s.rx.update(h, now, s.start, true)
		s.rxMu.Unlock()
		if tp := s.taps.Load(); tp != nil && len(*tp) > 0 {
			if s.pcm == nil {
				s.pcm = make([]int16, maxPacket)
			}
			n := in.Decode(s.pcm, h.payload)
			for _, t := range *tp {
				t.f(s.pcm[:n])
			}
		}
		if p := s.peer.Load(); p != nil {
			p.forward(s, h, false, in)
		}
	}
}

func (r *rxStats) update(h rtpHeader, now, start time.Time, audio bool) {
	if !r.init || h.ssrc != r.ssrc {
		*r = rxStats{init: true, ssrc: h.ssrc, baseSeq: h.seq, maxSeq: h.seq, received: 1, lastTransit: -1}
		return
	}
	r.received++
	if d := h.seq - r.maxSeq; d != 0 && d < 0x8000 {
		if h.seq < r.maxSeq {
			r.cycles += 1 << 16
		}
		r.maxSeq = h.seq
	}
	if !audio {
		return
	}
	arrival := int64(now.Sub(start) / (time.Second / 8000))
	transit := arrival - int64(h.ts)
	if r.lastTransit != -1 {
		d := transit - r.lastTransit
		if d < 0 {
			d = -d
		}
		if d < 1<<24 {
			r.jitter += (float64(d) - r.jitter) / 16
		}
	}
	r.lastTransit = transit
}

func (r *rxStats) expected() uint32 {
	return r.cycles + uint32(r.maxSeq) - uint32(r.baseSeq) + 1
}

// gapTS returns the timestamp step for a new source: the wall-clock time
// since the last packet sent, rounded to whole frames, at least one frame.
func (s *Session) gapTS(now time.Time) uint32 {
	if s.lastSend.IsZero() {
		return FrameSamples
	}
	frames := uint32(now.Sub(s.lastSend) / FrameDuration)
	return max(frames, 1) * FrameSamples
}

// forward sends a packet received on src (rewritten into our stream).
func (s *Session) forward(src *Session, h rtpHeader, dtmf bool, in Codec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sendOn || len(h.payload)+12 > maxPacket {
		return
	}
	pt := uint8(s.codec.Load())
	if dtmf {
		dpt := s.dtmfPT.Load()
		if dpt < 0 {
			return
		}
		pt = uint8(dpt)
	}
	now := time.Now()
	marker := h.marker
	if s.lastSrc != any(src) || s.lastInSSRC != h.ssrc || !s.started {
		s.seqOff = s.seq + 1 - h.seq
		s.tsOff = s.ts + s.gapTS(now) - h.ts
		s.lastSrc, s.lastInSSRC = src, h.ssrc
		marker = true
	}
	seq := h.seq + s.seqOff
	ts := h.ts + s.tsOff
	b := s.wbuf[:12+len(h.payload)]
	copy(b[12:], h.payload)
	if !dtmf {
		Transcode(b[12:], in, Codec(pt))
		if tp := s.sendTaps.Load(); tp != nil && len(*tp) > 0 {
			if s.spcm == nil {
				s.spcm = make([]int16, maxPacket)
			}
			n := Codec(pt).Decode(s.spcm, b[12:])
			for _, t := range *tp {
				t.f(s.spcm[:n])
			}
		}
	}
	s.send(b, marker, pt, seq, ts, now)
}

// send writes header fields into b[:12] and transmits; s.mu is held.
func (s *Session) send(b []byte, marker bool, pt uint8, seq uint16, ts uint32, now time.Time) {
	b[0] = 0x80
	b[1] = pt
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], s.ssrc)
	if int16(seq-s.seq) > 0 || !s.started {
		s.seq = seq
	}
	if int32(ts-s.ts) > 0 || !s.started {
		s.ts = ts
	}
	s.started = true
	s.lastSend = now
	if err := s.tr.WritePacket(b); err == nil {
		s.sent.Add(1)
		s.sentOctets.Add(uint64(len(b) - 12))
	}
}

// localSource marks packets generated by the session itself.
type localSource struct{}

var local = &localSource{}

// WriteFrame encodes and sends one frame of linear audio (normally 160
// samples) as the next packet of the outgoing stream. Pacing is the
// caller's job (see Player).
func (s *Session) WriteFrame(samples []int16) error {
	if s.closed.Load() {
		return ErrSessionClosed
	}
	if len(samples) > maxPacket-12 {
		samples = samples[:maxPacket-12]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sendOn {
		return nil
	}
	now := time.Now()
	marker := false
	ts := s.ts + uint32(len(samples))
	if s.lastSrc != any(local) || !s.started {
		marker = true
		ts = s.ts + s.gapTS(now)
		s.lastSrc = local
	}
	c := Codec(s.codec.Load())
	n := c.Encode(s.wbuf[12:], samples)
	if tp := s.sendTaps.Load(); tp != nil {
		for _, t := range *tp {
			t.f(samples)
		}
	}
	s.send(s.wbuf[:12+n], marker, uint8(c), s.seq+1, ts, now)
	return nil
}

// dtmfSteps is the number of 20 ms update packets of a generated digit
// (100 ms tone), followed by three end packets and a 60 ms pause.
const dtmfSteps = 5

// SendDigit sends one RFC 4733 event for d, paced at 20 ms: updates with
// growing duration, then three redundant end packets, all with the
// timestamp of the event start. It blocks for about 140 ms.
func (s *Session) SendDigit(ctx context.Context, d byte) error {
	ev, ok := EventForDigit(d)
	if !ok {
		return errors.New("media: invalid dtmf digit")
	}
	dpt := s.DTMFPayloadType()
	if dpt < 0 {
		return errors.New("media: telephone-event not negotiated")
	}
	var evTS uint32
	var payload [4]byte
	t := time.NewTicker(FrameDuration)
	defer t.Stop()
	for i := range dtmfSteps + 3 {
		if s.closed.Load() {
			return ErrSessionClosed
		}
		e := DTMFEvent{Event: ev, Volume: 10, Duration: uint16(min(i+1, dtmfSteps) * FrameSamples), End: i >= dtmfSteps}
		e.AppendTo(payload[:0])
		s.mu.Lock()
		now := time.Now()
		if i == 0 {
			evTS = s.ts + s.gapTS(now)
			s.lastSrc = nil
		}
		copy(s.wbuf[12:], payload[:])
		if s.sendOn {
			s.send(s.wbuf[:16], i == 0, uint8(dpt), s.seq+1, evTS, now)
		}
		if i == dtmfSteps+2 {
			// The next audio continues after the event.
			s.ts = evTS + uint32(dtmfSteps*FrameSamples)
			s.lastSrc = local
		}
		s.mu.Unlock()
		if i < dtmfSteps+2 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
		}
	}
	return nil
}

// Quality returns the current statistics.
func (s *Session) Quality() Quality {
	s.rxMu.Lock()
	q := Quality{PacketsReceived: s.rx.received, Jitter: time.Duration(s.rx.jitter * float64(time.Second) / 8000)}
	if s.rx.init {
		q.PacketsLost = max(int64(s.rx.expected())-int64(s.rx.received), 0)
	}
	s.rxMu.Unlock()
	q.PacketsSent = s.sent.Load()
	if rr := s.remoteStats.Load(); rr != nil {
		q.RemoteLost = int64(rr.TotalLost)
		q.RemoteJitter = time.Duration(float64(rr.Jitter) * float64(time.Second) / 8000)
		q.RemoteFraction = float64(rr.FractionLost) / 256
		q.RemoteReported = true
	}
	return q
}

func (s *Session) rtcpReport() []rtcp.Packet {
	s.rxMu.Lock()
	var reports []rtcp.ReceptionReport
	if s.rx.init {
		exp := s.rx.expected()
		lost := max(int64(exp)-int64(s.rx.received), 0)
		expInt := exp - s.rx.expectedPrior
		recInt := s.rx.received - s.rx.receivedPrior
		s.rx.expectedPrior, s.rx.receivedPrior = exp, s.rx.received
		var frac uint8
		if lostInt := int64(expInt) - int64(recInt); expInt > 0 && lostInt > 0 {
			frac = uint8((lostInt << 8) / int64(expInt))
		}
		var dlsr uint32
		if !s.rx.lastSRRecv.IsZero() {
			dlsr = uint32(time.Since(s.rx.lastSRRecv).Seconds() * 65536)
		}
		reports = append(reports, rtcp.ReceptionReport{
			SSRC: s.rx.ssrc, FractionLost: frac, TotalLost: uint32(min(lost, 0x7FFFFF)),
			LastSequenceNumber: s.rx.cycles + uint32(s.rx.maxSeq), Jitter: uint32(s.rx.jitter),
			LastSenderReport: s.rx.lastSRNTP, Delay: dlsr,
		})
	}
	s.rxMu.Unlock()
	if s.sent.Load() == 0 {
		return []rtcp.Packet{&rtcp.ReceiverReport{SSRC: s.ssrc, Reports: reports}}
	}
	s.mu.Lock()
	ts := s.ts
	s.mu.Unlock()
	return []rtcp.Packet{&rtcp.SenderReport{
		SSRC: s.ssrc, NTPTime: ntpTime(time.Now()), RTPTime: ts,
		PacketCount: uint32(s.sent.Load()), OctetCount: uint32(s.sentOctets.Load()), Reports: reports,
	}}
}

func ntpTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800
	sec := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return sec<<32 | frac
}

func (s *Session) rtcpSender(ctx context.Context, rt RTCPTransport) {
	t := time.NewTicker(s.rtcpIvl)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if b, err := rtcp.Marshal(s.rtcpReport()); err == nil {
				_ = rt.WriteRTCP(b)
			}
		}
	}
}

func (s *Session) rtcpReader(rt RTCPTransport) {
	buf := make([]byte, maxPacket)
	for {
		n, err := rt.ReadRTCP(buf)
		if err != nil {
			return
		}
		s.handleRTCP(buf[:n])
	}
}

// HandleRTCP processes one received RTCP compound packet.
func (s *Session) HandleRTCP(b []byte) {
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		return
	}
	for _, p := range pkts {
		var reps []rtcp.ReceptionReport
		switch p := p.(type) {
		case *rtcp.SenderReport:
			s.rxMu.Lock()
			s.rx.lastSRNTP = uint32(p.NTPTime >> 16)
			s.rx.lastSRRecv = time.Now()
			s.rxMu.Unlock()
			reps = p.Reports
		case *rtcp.ReceiverReport:
			reps = p.Reports
		}
		for i := range reps {
			if reps[i].SSRC == s.ssrc {
				r := reps[i]
				s.remoteStats.Store(&r)
			}
		}
	}
}
