package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/google/uuid"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"

	"switchboard/acd/dialplan"
	"switchboard/sip/media"
	"switchboard/sip/sdp"
)

// sipSockBuf is the buffer size requested for the SIP UDP socket.
const sipSockBuf = 8 << 20

// Sentinel errors. Dial wraps one of ErrNoAnswer, ErrBusy, ErrRejected or
// ErrNotFound; operations on a finished leg wrap ErrCallEnded.
var (
	ErrNoAnswer    = errors.New("sip: no answer")
	ErrBusy        = errors.New("sip: busy")
	ErrRejected    = errors.New("sip: rejected")
	ErrNotFound    = errors.New("sip: destination not found")
	ErrCallEnded   = errors.New("sip: call ended")
	ErrDraining    = errors.New("sip: gateway draining")
	ErrCallLimit   = errors.New("sip: concurrent call limit reached")
	ErrBadConfig   = errors.New("sip: invalid config")
	ErrNotBridged  = errors.New("sip: legs not bridgeable")
	ErrPromptFile  = errors.New("sip: prompt file not usable")
	ErrPathOutside = errors.New("sip: path outside the configured directory")
)

// Config configures the gateway.
type Config struct {
	UDPAddr  string // e.g. "0.0.0.0:5060"; empty: no UDP
	TCPAddr  string // empty: no TCP
	TLSAddr  string // used when TLSCert/TLSKey are set
	TLSCert  string
	TLSKey   string
	PublicIP string // address put in Contact/SDP (default: 127.0.0.1)
	MediaIP  string // local address RTP binds (default: PublicIP)
	// RTPPortMin and RTPPortMax bound the RTP ports. Both zero: the
	// system picks every port (shared sockets and up to MaxCalls dedicated
	// pairs), so that no fixed range can collide with another program.
	RTPPortMin, RTPPortMax int
	// RTPSharedSockets is the number of shared RTP sockets (media.MuxSet)
	// at the bottom of the port range: legs share them, told apart by
	// remote address, with batched reads and writes. A leg whose remote
	// address is taken on every shared socket gets a dedicated port pair
	// from the rest of the range, as every leg does with 0.
	RTPSharedSockets int
	MaxCalls         int // concurrent legs; above it INVITEs get 503 + Retry-After (0: 1000)
	// TrustedSources are trunk/proxy IPs whose INVITEs are accepted
	// without authentication. When RequireAuth is set, INVITEs from other
	// sources must pass digest auth with registrar credentials. Behind an
	// edge proxy a trunk is trusted by its own address (its client
	// address, see EdgeProxies), never by the edge's.
	TrustedSources []string
	// EdgeProxies are the SIP edge proxies in front of the gateway (the
	// Kamailio of deploy/kamailio): IP addresses or CIDR prefixes. A
	// request whose source is one of them is judged by its client
	// address, the one the edge stamped on the Via below its own (RFC 3581
	// received, else that Via's host; rport, else its port): the
	// failed-digest lockout, the unauthenticated request rate, the digest
	// nonce binding and TrustedSources apply to that client, not to the
	// edge. Such a request without a usable client Via is answered 400,
	// except the edge's own OPTIONS, CANCEL and ACK, which carry its Via
	// alone. The edge itself is not trusted: INVITEs through it are
	// authenticated under RequireAuth unless their client is trusted.
	// From any other source the Vias are ignored. Responses still follow
	// the Vias back through the edge.
	EdgeProxies []string
	RequireAuth bool
	Realm       string // registrar realm (default "switchboard")
	// MinExpiry and MaxExpiry bound the registration interval: a phone
	// asking for less gets 423 Interval Too Brief, for more is granted
	// MaxExpiry (defaults DefaultMinExpiry, DefaultMaxExpiry).
	MinExpiry, MaxExpiry time.Duration
	// DigestAlgorithms are the digest algorithms challenged and accepted,
	// most preferred first: "SHA-256" and/or "MD5" (default both,
	// SHA-256 first). Clients that read only the first challenge and know
	// only MD5 (SIPp, older phones) need MD5 first or alone.
	DigestAlgorithms []string
	// UnauthRate and UnauthBurst limit, per source address (behind an
	// edge proxy: per client address), the requests that carry no valid
	// credentials (per second, and in a burst; 0: defaults). Floods
	// beyond them are dropped (UDP) or answered 503 (TCP/TLS, and UDP
	// through an edge proxy) without state. Trusted sources are exempt.
	UnauthRate  float64
	UnauthBurst int
	// TCPMaxConns and TCPMaxPerSource cap the inbound TCP/TLS connections
	// in all and per source address (0: defaults); excess connections are
	// closed at once. TCPIdleTimeout closes a connection that has not
	// authenticated a request (or come from a trusted source) this long
	// after it was accepted (0: default).
	TCPMaxConns     int
	TCPMaxPerSource int
	TCPIdleTimeout  time.Duration
	MusicOnHold     string // WAV file looped to a leg on local hold
	PromptDir       string // relative prompt names resolve here
	RecordingDir    string // recordings are written here (a relative path is made absolute)
	// RecordingRetention deletes recordings (WAV files under RecordingDir)
	// older than this, checked hourly; zero keeps them.
	RecordingRetention time.Duration
	// Trunk is the host[:port] of the outbound trunk for customer numbers
	// (Dial with a number that is not a registered user).
	Trunk string
	// AnswerDelay holds inbound calls ringing (180, or 183 with
	// EarlyMedia) this long before the 200 (0: answer at once).
	AnswerDelay time.Duration
	// EarlyMedia gives inbound calls held by AnswerDelay early media, as
	// Asterisk's Progress() + Playtones(ring) does: 183 Session Progress
	// with the SDP answer (the 200 repeats it unchanged), then Ringback
	// looped to the caller over RTP until the 200. Off, they get 180
	// Ringing without SDP and the caller's phone makes its own ringback.
	// No effect when AnswerDelay is 0.
	EarlyMedia bool
	// Ringback is what EarlyMedia plays: a WAV file (a name ending in
	// ".wav", resolved like prompts), a country of Asterisk's
	// indications.conf ("us", the default: 440+480 Hz, 2 s on, 4 s off;
	// "uk", "de", "fr", "es", "nl") or a tone in that syntax
	// ("425/1000,0/4000"). New fails on a value it cannot use.
	Ringback string
	// TestEndpoint is a DNIS answered internally (play TestPrompt, or 2 s
	// of tone, then hang up) for load tests. Empty: disabled.
	TestEndpoint string
	TestPrompt   string
	// WebRTCIPs restricts the ICE host candidates of WebRTC legs to these
	// local addresses (tests: 127.0.0.1). Empty: every interface.
	WebRTCIPs []string
}

// DialOptions tunes an outbound leg.
type DialOptions struct {
	Timeout      time.Duration // ring time before CANCEL (default 30 s)
	CallerID     string        // From user (sanitised)
	CallerName   string        // From display name (sanitised)
	Codecs       []media.Codec // offer order (default PCMU, PCMA)
	ExtraHeaders map[string]string
	// Role is on whose behalf the leg is dialled; the dial policy
	// (WithDialPolicy) decides with it whether a number bound for the
	// trunk may be dialled. A policy refuses an empty role.
	Role dialplan.Role
	// OnEarlyMedia is called once per ringing leg (each fork) when the far
	// end starts early media (a 18x with SDP: a carrier's ringback or
	// announcement). The leg is still ringing; its Session receives the
	// far end's audio (add a tap, or Bridge it so a waiting party hears
	// it). If the leg is not answered it ends, and so does a bridge. It
	// runs on the goroutine waiting for the answer and must not block.
	OnEarlyMedia func(*Call)
}

// WebRTCInfo describes a WebRTC leg for logs and routing.
type WebRTCInfo struct {
	ANI  string // who is calling (agent id or web visitor)
	DNIS string // what they called
	// Entry is, for a web caller, the flows' webrtc entry point they
	// called (Call.WebEntry); "" for an agent's softphone.
	Entry string
	// Caller is who a web caller said they are (Call.WebCaller).
	Caller WebCaller
}

// WebCaller is the identity a web caller gave: the page's form, or a host
// site's signed token (Verified).
type WebCaller struct {
	Name, Email, Phone string
	Verified           bool
}

// EventType is the kind of a call event.
type EventType uint8

// Call events.
const (
	EventDigit EventType = iota + 1
	EventHangup
	EventTransfer // a phone asked (REFER) to transfer its dialog to Target
)

// Event is published for DTMF digits and hang-ups.
type Event struct {
	Type   EventType
	Call   *Call
	Digit  byte
	Reason string
	Target string // EventTransfer: the Refer-To user (sanitised)
}

// Option configures New.
type Option func(*Gateway)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(g *Gateway) { g.log = l } }

// WithMetrics registers the gateway's metrics on reg.
func WithMetrics(reg prometheus.Registerer) Option { return func(g *Gateway) { g.reg = reg } }

// WithCredentials sets the digest credential store for REGISTER and
// untrusted INVITEs.
func WithCredentials(c Credentials) Option { return func(g *Gateway) { g.creds = c } }

// WithBindingStore sets where the registrar keeps its bindings (default:
// in memory, for the life of the process).
func WithBindingStore(s BindingStore) Option { return func(g *Gateway) { g.bindings = s } }

// WithCallHandler sets the handler that receives every answered inbound
// call in its own goroutine. The handler owns the call (it must hang up
// or hand it on). Without a handler inbound calls get 480.
func WithCallHandler(h func(*Call)) Option { return func(g *Gateway) { g.handler = h } }

// Refusal is an inbound SIP call the gateway turned away or lost before
// handing it to the call handler: with 503 when it was draining, at
// MaxCalls, or out of RTP ports, with 404 when nobody configured the number
// dialled (WithNumberFilter); after its Arrival, when its offer could not
// be used ("bad offer"), the caller cancelled while it rang ("cancelled")
// or hung up before confirming the answer ("hung up"), the 200 OK was
// never ACKed ("no ack"), or the gateway ended it ("ended").
type Refusal struct {
	CallID string // SIP Call-ID
	From   string // the caller's user part (ANI)
	DNIS   string // the number dialled
	Reason string // "draining", "call limit", "no media ports", "not found", "bad offer", "cancelled", "hung up", "no ack" or "ended"
}

// WithRefusalHandler receives every inbound call refused or lost before
// the call handler, so that it is on record like the calls that got in.
// Together with WithArrivalHandler: every INVITE that passed
// authentication ends in exactly one Refusal or one call handed to the
// call handler. It runs on the INVITE's goroutine; it may block briefly
// (a durable write), not for long.
func WithRefusalHandler(h func(Refusal)) Option { return func(g *Gateway) { g.onRefusal = h } }

// Arrival is an authenticated inbound SIP call to a configured number,
// before anything is answered: its record can be opened now, so that no
// call goes unrecorded whatever happens next (the call handler or a
// Refusal with the same Call-ID follows). Calls to the test endpoint have
// none.
type Arrival struct {
	CallID string    // SIP Call-ID
	From   string    // the caller's user part (ANI)
	DNIS   string    // the number dialled
	At     time.Time // when the INVITE was accepted
}

// WithArrivalHandler receives every Arrival. It runs on the INVITE's
// goroutine before the call is answered; it may block briefly (a durable
// write), not for long.
func WithArrivalHandler(h func(Arrival)) Option { return func(g *Gateway) { g.onArrival = h } }

// WithNumberFilter makes the gateway answer only INVITEs to numbers
// exists reports true for (the DNIS, sanitised): others get 404 Not Found
// and go to the refusal handler (reason "not found") instead of being
// answered into silence. The test endpoint is always answered. exists runs
// on the SIP goroutine and must not block.
func WithNumberFilter(exists func(dnis string) bool) Option {
	return func(g *Gateway) { g.numbers = exists }
}

// WithEventHandler receives DTMF and hang-up events of every leg. It runs
// on media/signalling goroutines and must not block.
func WithEventHandler(h func(Event)) Option { return func(g *Gateway) { g.onEvent = h } }

// Gateway is the SIP/WebRTC front door: sipgo UA (UDP/TCP/TLS), registrar,
// inbound and outbound dialogs, and the RTP media of every leg. Start it
// with Serve; New only validates and allocates.
type Gateway struct {
	cfg       Config
	log       *slog.Logger
	reg       prometheus.Registerer
	m         *Metrics
	creds     Credentials
	handler   func(*Call)
	onEvent   func(Event)
	onRefusal func(Refusal)
	onArrival func(Arrival)
	numbers   func(dnis string) bool // WithNumberFilter; nil: every number
	// dialPolicy vets numbers bound for the trunk (WithDialPolicy).
	dialPolicy DialPolicy

	ua       *sipgo.UserAgent
	srv      *sipgo.Server
	client   *sipgo.Client
	dua      *sipgo.DialogUA
	pool     *media.PortPool
	mux      *media.MuxSet // nil without shared sockets
	pacer    *media.Pacer
	mixer    *media.Mixer
	regr     *Registrar
	auth     *digestAuth
	guard    *sourceGuard
	bindings BindingStore
	conns    *connLimiter
	clock    func() time.Time
	publicIP netip.Addr
	trusted  map[string]bool
	edges    edgeProxies

	draining atomic.Bool
	active   atomic.Int64

	mu      sync.Mutex
	calls   map[string]*Call // by leg id
	dialogs map[string]*Call // by sipgo dialog id

	promptMu sync.Mutex
	prompts  map[string]*media.Audio
	ringback []int16 // looped during inbound early media (Config.EarlyMedia)

	rtcOnce sync.Once
	rtcAPI  *webrtc.API
	rtcErr  error

	addrMu sync.Mutex
	udp    net.PacketConn
	tcp    net.Listener
	ready  chan struct{}
	wg     sync.WaitGroup
}

// New validates cfg and builds a gateway; call Serve to listen.
func New(cfg Config, opts ...Option) (*Gateway, error) {
	g := &Gateway{cfg: cfg, log: slog.Default(), calls: map[string]*Call{}, dialogs: map[string]*Call{},
		prompts: map[string]*media.Audio{}, trusted: map[string]bool{}, ready: make(chan struct{})}
	for _, o := range opts {
		o(g)
	}
	g.m = NewMetrics(g.reg)
	if g.cfg.PublicIP == "" {
		g.cfg.PublicIP = "127.0.0.1"
	}
	if g.cfg.MediaIP == "" {
		g.cfg.MediaIP = g.cfg.PublicIP
	}
	if g.cfg.Realm == "" {
		g.cfg.Realm = DefaultRealm
	}
	if g.cfg.MaxCalls <= 0 {
		g.cfg.MaxCalls = 1000
	}
	if g.cfg.UDPAddr == "" && g.cfg.TCPAddr == "" {
		return nil, fmt.Errorf("%w: no UDP or TCP listen address", ErrBadConfig)
	}
	if g.cfg.RecordingDir != "" {
		// Absolute, so that a path built from it (RecordingDir/name) is not
		// resolved inside it a second time, and is valid from any directory.
		abs, err := filepath.Abs(g.cfg.RecordingDir)
		if err != nil {
			return nil, fmt.Errorf("%w: recording dir: %v", ErrBadConfig, err)
		}
		g.cfg.RecordingDir = abs
	}
	var err error
	if g.publicIP, err = netip.ParseAddr(g.cfg.PublicIP); err != nil {
		return nil, fmt.Errorf("%w: public IP %q", ErrBadConfig, g.cfg.PublicIP)
	}
	mip, err := netip.ParseAddr(g.cfg.MediaIP)
	if err != nil {
		return nil, fmt.Errorf("%w: media IP %q", ErrBadConfig, g.cfg.MediaIP)
	}
	if g.cfg.RTPSharedSockets < 0 {
		return nil, fmt.Errorf("%w: negative rtp shared sockets", ErrBadConfig)
	}
	if g.cfg.RTPPortMin == 0 && g.cfg.RTPPortMax == 0 {
		g.pool, err = media.NewEphemeralPortPool(mip, g.cfg.MaxCalls)
	} else {
		g.cfg.RTPPortMin += g.cfg.RTPPortMin & 1 // RTP on even ports
		g.pool, err = media.NewPortPool(mip, g.cfg.RTPPortMin+2*g.cfg.RTPSharedSockets, g.cfg.RTPPortMax)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadConfig, err)
	}
	g.m.PortsTotal.Set(float64(g.pool.Size()))
	for _, s := range g.cfg.TrustedSources {
		g.trusted[s] = true
	}
	if g.edges, err = parseEdgeProxies(g.cfg.EdgeProxies); err != nil {
		return nil, err
	}
	if err := g.setupAuth(); err != nil {
		return nil, err
	}
	g.pacer = media.NewPacer(0, nil)
	g.mixer = media.NewMixer(0, nil)
	if g.cfg.EarlyMedia {
		if g.ringback, err = g.ringbackAudio(g.cfg.Ringback); err != nil {
			if !errors.Is(err, ErrBadConfig) {
				err = fmt.Errorf("%w: ringback: %w", ErrBadConfig, err)
			}
			return nil, err
		}
	}
	return g, nil
}

// RecordingDir returns the absolute directory recordings are written to
// ("" when none is configured). Whoever builds a recording's file name
// from it gets the path the file is written at: the gateway resolves a
// relative name inside this directory, and keeps an absolute one inside
// it as is.
func (g *Gateway) RecordingDir() string { return g.cfg.RecordingDir }

// Registrar returns the gateway's registrar (binding lookup).
func (g *Gateway) Registrar() *Registrar { return g.regr }

// Metrics returns the gateway's metrics.
func (g *Gateway) Metrics() *Metrics { return g.m }

// Ready is closed once the listeners are bound.
func (g *Gateway) Ready() <-chan struct{} { return g.ready }

// UDPAddr returns the bound UDP address (after Ready).
func (g *Gateway) UDPAddr() netip.AddrPort {
	g.addrMu.Lock()
	defer g.addrMu.Unlock()
	if g.udp == nil {
		return netip.AddrPort{}
	}
	return g.udp.LocalAddr().(*net.UDPAddr).AddrPort()
}

// TCPAddr returns the bound TCP address (after Ready).
func (g *Gateway) TCPAddr() netip.AddrPort {
	g.addrMu.Lock()
	defer g.addrMu.Unlock()
	if g.tcp == nil {
		return netip.AddrPort{}
	}
	return g.tcp.Addr().(*net.TCPAddr).AddrPort()
}

// Serve binds the listeners and serves until ctx is done; then it hangs up
// every leg, closes the UA and returns. It returns early with an error if a
// listener cannot be bound.
func (g *Gateway) Serve(ctx context.Context) error {
	// The parser caps a message (start line, headers and body) on every
	// transport, as the UDP wrapper does for datagrams.
	parser := sipmsg.NewParser()
	parser.MaxMessageLength = maxSIPDatagram
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("switchboard"), sipgo.WithUserAgentHostname(g.cfg.PublicIP),
		sipgo.WithUserAgentParser(parser))
	if err != nil {
		return fmt.Errorf("sip: ua: %w", err)
	}
	g.ua = ua
	defer ua.Close()
	g.srv, err = sipgo.NewServer(ua, sipgo.WithServerLogger(g.log))
	if err != nil {
		return fmt.Errorf("sip: server: %w", err)
	}
	g.client, err = sipgo.NewClient(ua, sipgo.WithClientHostname(g.cfg.PublicIP), sipgo.WithClientLogger(g.log))
	if err != nil {
		return fmt.Errorf("sip: client: %w", err)
	}
	defer g.client.Close()

	if n := g.cfg.RTPSharedSockets; n > 0 {
		if g.mux, err = media.NewMuxSet(g.pool.IP(), g.cfg.RTPPortMin, n, 0); err != nil {
			return fmt.Errorf("sip: shared rtp sockets: %w", err)
		}
		g.pacer = media.NewPacer(0, g.mux)
		g.mixer = media.NewMixer(0, g.mux)
		g.pool.BatchWith(g.mux)
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			if err := g.mux.Run(); err != nil {
				g.log.Error("sip: shared rtp sockets failed", "err", err)
			}
		}()
		defer g.mux.Close()
	}

	var errs []error
	if g.cfg.UDPAddr != "" {
		pc, err := net.ListenPacket("udp", g.cfg.UDPAddr)
		if err != nil {
			return fmt.Errorf("sip: listen udp: %w", err)
		}
		// Every UDP request of every call arrives on this one socket: a
		// buffer for a burst (the kernel's default overflows quickly under
		// a high call rate, and a lost INVITE costs the caller a
		// retransmission interval).
		if uc, ok := pc.(*net.UDPConn); ok {
			media.SetSocketBuffers(uc, sipSockBuf)
		}
		g.addrMu.Lock()
		g.udp = pc
		g.addrMu.Unlock()
	}
	if g.cfg.TCPAddr != "" {
		l, err := net.Listen("tcp", g.cfg.TCPAddr)
		if err != nil {
			if g.udp != nil {
				g.udp.Close()
			}
			return fmt.Errorf("sip: listen tcp: %w", err)
		}
		g.addrMu.Lock()
		g.tcp = g.conns.listen(l)
		g.addrMu.Unlock()
	}
	port := 5060
	if g.udp != nil {
		port = int(g.UDPAddr().Port())
	} else if g.tcp != nil {
		port = int(g.TCPAddr().Port())
	}
	g.dua = &sipgo.DialogUA{Client: g.client, ContactHDR: sipmsg.ContactHeader{
		Address: sipmsg.Uri{Scheme: "sip", User: "switchboard", Host: g.cfg.PublicIP, Port: port}}}
	g.routes()

	serveErr := make(chan error, 3)
	if g.udp != nil {
		pc := &badRequestConn{PacketConn: &limitConn{PacketConn: g.udp, g: g}, g: g}
		g.wg.Add(1)
		go func() { defer g.wg.Done(); serveErr <- g.srv.ServeUDP(pc) }()
	}
	if g.tcp != nil {
		g.wg.Add(1)
		go func() { defer g.wg.Done(); serveErr <- g.srv.ServeTCP(g.tcp) }()
	}
	if g.cfg.TLSCert != "" && g.cfg.TLSKey != "" && g.cfg.TLSAddr != "" {
		cert, err := tls.LoadX509KeyPair(g.cfg.TLSCert, g.cfg.TLSKey)
		if err != nil {
			errs = append(errs, fmt.Errorf("sip: tls: %w", err))
		} else {
			l, err := net.Listen("tcp", g.cfg.TLSAddr)
			if err != nil {
				errs = append(errs, fmt.Errorf("sip: listen tls: %w", err))
			} else {
				tl := tls.NewListener(g.conns.listen(l), &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
				defer tl.Close()
				g.wg.Add(1)
				go func() { defer g.wg.Done(); serveErr <- g.srv.ServeTLS(tl) }()
			}
		}
	}
	close(g.ready)
	g.log.Info("sip gateway listening", "udp", g.UDPAddr(), "tcp", g.TCPAddr())
	if g.cfg.RecordingRetention > 0 && g.cfg.RecordingDir != "" {
		pctx, stop := context.WithCancel(ctx)
		defer stop()
		g.wg.Add(1)
		go func() { defer g.wg.Done(); g.keepRecordings(pctx) }()
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if err != nil && ctx.Err() == nil {
			errs = append(errs, fmt.Errorf("sip: serve: %w", err))
		}
	}
	g.hangupAll()
	if g.udp != nil {
		g.udp.Close()
	}
	if g.tcp != nil {
		g.tcp.Close()
	}
	return errors.Join(errs...)
}

// Drain stops accepting new calls (INVITEs get 503); existing calls go on.
func (g *Gateway) Drain() { g.draining.Store(true) }

// ActiveCalls returns the number of legs up.
func (g *Gateway) ActiveCalls() int { return int(g.active.Load()) }

func (g *Gateway) hangupAll() {
	g.mu.Lock()
	calls := make([]*Call, 0, len(g.calls))
	for _, c := range g.calls {
		calls = append(calls, c)
	}
	g.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Add(1)
		g.goCall(c, panicDialog, func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = c.Hangup(ctx)
		})
	}
	wg.Wait()
}

func (g *Gateway) newCall(kind legKind, inbound bool, sess *media.Session, ani, dnis, callID string) *Call {
	ctx, cancel := context.WithCancelCause(context.Background())
	c := &Call{g: g, id: uuid.NewString(), kind: kind, inbound: inbound, sess: sess,
		ani: sanitizeUser(ani), dnis: sanitizeUser(dnis), callID: sanitizeHeaderValue(callID),
		ctx: ctx, cancel: cancel, digitCh: make(chan struct{}, 1), sdpSessID: rand.Uint64() >> 1, sdpVer: 1}
	c.log = g.log.With("call_id", c.id, "sip_call_id", c.callID)
	sess.OnDigit(func(d byte) { c.pushDigit(d, "rfc4733") })
	sess.OnPanic(func(v any, stack []byte) { g.callPanicked(c, panicMedia, v, stack) })
	g.mu.Lock()
	g.calls[c.id] = c
	g.mu.Unlock()
	g.active.Add(1)
	g.m.ActiveCalls.Inc()
	g.m.ActiveLegs.WithLabelValues(string(kind)).Inc()
	g.updatePortMetrics()
	return c
}

func (g *Gateway) updatePortMetrics() {
	g.m.PortsInUse.Set(float64(g.pool.InUse()))
	if g.mux != nil {
		g.m.SharedLegs.Set(float64(g.mux.Legs()))
	}
}

func (g *Gateway) bindDialog(id string, c *Call) {
	g.mu.Lock()
	g.dialogs[id] = c
	c.dialogID = id
	g.mu.Unlock()
}

func (g *Gateway) unregisterCall(c *Call, answered bool) {
	g.mu.Lock()
	delete(g.calls, c.id)
	if c.dialogID != "" {
		delete(g.dialogs, c.dialogID)
	}
	g.mu.Unlock()
	g.active.Add(-1)
	g.m.ActiveCalls.Dec()
	g.m.ActiveLegs.WithLabelValues(string(c.kind)).Dec()
	q := c.sess.Quality()
	g.m.RTPPackets.WithLabelValues("in").Add(float64(q.PacketsReceived))
	g.m.RTPPackets.WithLabelValues("out").Add(float64(q.PacketsSent))
	g.m.RTPPackets.WithLabelValues("lost").Add(float64(q.PacketsLost))
	if q.PacketsReceived > 0 {
		g.m.Jitter.Observe(q.Jitter.Seconds())
	}
	g.updatePortMetrics()
	_ = answered
}

// lookupDialog finds the leg of an in-dialog request (UAS then UAC role).
func (g *Gateway) lookupDialog(req *sipmsg.Request) *Call {
	g.mu.Lock()
	defer g.mu.Unlock()
	if id, err := sipmsg.DialogIDFromRequestUAS(req); err == nil {
		if c := g.dialogs[id]; c != nil {
			return c
		}
	}
	if id, err := sipmsg.DialogIDFromRequestUAC(req); err == nil {
		if c := g.dialogs[id]; c != nil {
			return c
		}
	}
	return nil
}

// prompt loads (and caches) a WAV prompt.
func (g *Gateway) prompt(name string) (*media.Audio, error) {
	path := name
	if !filepath.IsAbs(path) && g.cfg.PromptDir != "" {
		path = filepath.Join(g.cfg.PromptDir, name)
	}
	g.promptMu.Lock()
	a := g.prompts[path]
	g.promptMu.Unlock()
	if a != nil {
		return a, nil
	}
	a, err := media.ReadWAVFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPromptFile, err)
	}
	g.promptMu.Lock()
	if len(g.prompts) < 1024 {
		g.prompts[path] = a
	}
	g.promptMu.Unlock()
	return a, nil
}

// recordingPath resolves a recording name inside RecordingDir.
func (g *Gateway) recordingPath(name string) (string, error) {
	if g.cfg.RecordingDir == "" {
		if filepath.IsAbs(name) {
			return name, nil
		}
		return "", fmt.Errorf("%w: no recording dir for %q", ErrPathOutside, name)
	}
	p := filepath.Join(g.cfg.RecordingDir, filepath.Clean("/"+name))
	if filepath.IsAbs(name) {
		rel, err := filepath.Rel(g.cfg.RecordingDir, name)
		if err != nil || strings.HasPrefix(rel, "..") {
			return "", fmt.Errorf("%w: %q", ErrPathOutside, name)
		}
		p = filepath.Clean(name)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return "", fmt.Errorf("sip: %w", err)
	}
	return p, nil
}

// Bridge relays media both ways between a and b until either leg ends or
// ctx is cancelled; then it unbridges and returns (the legs stay up).
// Codecs may differ (PCMU↔PCMA is transcoded); DTMF passes through.
func (g *Gateway) Bridge(ctx context.Context, a, b *Call) error {
	if a == b || a == nil || b == nil {
		return ErrNotBridged
	}
	a.mu.Lock()
	b.mu.Lock()
	if a.state == StateEnded || b.state == StateEnded {
		b.mu.Unlock()
		a.mu.Unlock()
		return fmt.Errorf("sip: bridge: %w", ErrCallEnded)
	}
	a.peer, b.peer = b, a
	aHold, bHold := a.localHold, b.localHold
	b.mu.Unlock()
	a.mu.Unlock()
	if !aHold && !bHold {
		a.sess.SetPeer(b.sess)
		b.sess.SetPeer(a.sess)
	}
	var err error
	select {
	case <-ctx.Done():
		err = ctx.Err()
	case <-a.ctx.Done():
	case <-b.ctx.Done():
	}
	a.sess.Unpeer(b.sess)
	b.sess.Unpeer(a.sess)
	a.mu.Lock()
	if a.peer == b {
		a.peer = nil
	}
	a.mu.Unlock()
	b.mu.Lock()
	if b.peer == a {
		b.peer = nil
	}
	b.mu.Unlock()
	if err != nil {
		return nil // unbridged on request; legs stay up
	}
	return nil
}

// StartRecording records a (left channel) and b (right channel) — what
// each party says — to a stereo WAV. stop finalises the file.
func (g *Gateway) StartRecording(a, b *Call, file string) (stop func() error, err error) {
	path, err := g.recordingPath(file)
	if err != nil {
		return nil, err
	}
	var sa, sb *media.Session
	if a != nil {
		sa = a.sess
	}
	if b != nil {
		sb = b.sess
	}
	rec, err := media.NewStereoRecorder(path, sa, sb)
	if err != nil {
		return nil, err
	}
	var once sync.Once
	var stopErr error
	stopFn := func() error {
		once.Do(func() { stopErr = rec.Stop() })
		return stopErr
	}
	// Stop with the legs: whichever ends first finalises the file.
	go func() {
		var ad, bd <-chan struct{}
		if a != nil {
			ad = a.ctx.Done()
		}
		if b != nil {
			bd = b.ctx.Done()
		}
		select {
		case <-ad:
		case <-bd:
		}
		_ = stopFn()
	}()
	return stopFn, nil
}

// badRequestConn wraps the UDP listener: a datagram sipgo cannot parse
// would be dropped silently, so it is answered here with a stateless 400
// (when the headers needed to route a response can be found) and never
// reaches sipgo. Valid messages pass through untouched.
type badRequestConn struct {
	net.PacketConn
	g      *Gateway
	parser *sipmsg.Parser
	once   sync.Once
}

// maxSIPDatagram caps what we accept in one UDP datagram.
const maxSIPDatagram = 16 << 10

func (c *badRequestConn) ReadFrom(b []byte) (int, net.Addr, error) {
	c.once.Do(func() { c.parser = sipmsg.NewParser() })
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil || n <= 4 {
			return n, addr, err
		}
		data := b[:n]
		if n > maxSIPDatagram {
			c.reject(data[:maxSIPDatagram], addr, "Message Too Large")
			continue
		}
		if reason := c.check(data); reason != "" {
			c.reject(data, addr, reason)
			continue
		}
		return n, addr, nil
	}
}

// check returns a reason when data is not a well-formed SIP message.
func (c *badRequestConn) check(data []byte) string {
	msg, err := c.parser.ParseSIP(data)
	if err != nil {
		return "Bad Request"
	}
	req, ok := msg.(*sipmsg.Request)
	if !ok {
		return ""
	}
	if req.CallID() == nil || req.From() == nil || req.To() == nil || req.CSeq() == nil || req.Via() == nil {
		return "Missing Mandatory Header"
	}
	if req.CSeq().MethodName != req.Method {
		return "CSeq Method Mismatch"
	}
	return ""
}

// reject writes a 400 built from the raw header lines that identify the
// transaction (Via, From, To, Call-ID, CSeq). Requests without them, and
// responses, are dropped.
func (c *badRequestConn) reject(data []byte, addr net.Addr, reason string) {
	c.g.m.Responses.WithLabelValues("UNKNOWN", "400").Inc()
	head := string(data)
	if i := strings.Index(head, "\r\n\r\n"); i >= 0 {
		head = head[:i]
	}
	lines := strings.Split(head, "\n")
	if len(lines) < 2 || strings.HasPrefix(lines[0], "SIP/") {
		return
	}
	var b strings.Builder
	b.WriteString("SIP/2.0 400 " + reason + "\r\n")
	need := map[string]bool{}
	for _, l := range lines[1:] {
		l = strings.TrimRight(l, "\r")
		name, val, ok := strings.Cut(l, ":")
		if !ok || len(l) > 1024 || strings.ContainsAny(val, "\r\x00") {
			continue
		}
		key := strings.ToLower(strings.TrimSpace(name))
		switch key {
		case "via", "v", "from", "f", "to", "t", "call-id", "i", "cseq":
			b.WriteString(strings.TrimSpace(name) + ": " + strings.TrimSpace(val) + "\r\n")
			need[key[:1]] = true
		}
	}
	if !need["v"] || !need["c"] {
		return
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	_, _ = c.PacketConn.WriteTo([]byte(b.String()), addr)
}

// dialTargets resolves a Dial target to request URIs and, for each, the
// Route set to send it with (a registered contact's Path, else nil).
func (g *Gateway) dialTargets(ctx context.Context, target string) ([]sipmsg.Uri, [][]sipmsg.Uri, error) {
	if strings.HasPrefix(target, "sip:") || strings.HasPrefix(target, "sips:") {
		if strings.ContainsAny(target, "\r\n\x00 ") {
			return nil, nil, fmt.Errorf("%w: bad uri", ErrNotFound)
		}
		var u sipmsg.Uri
		if err := sipmsg.ParseUri(target, &u); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrNotFound, err)
		}
		return []sipmsg.Uri{u}, [][]sipmsg.Uri{nil}, nil
	}
	user := sanitizeUser(target)
	if user == "" || user != target {
		return nil, nil, fmt.Errorf("%w: bad target %q", ErrNotFound, sanitizeHeaderValue(target))
	}
	bindings, err := g.regr.Lookup(ctx, user)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrRejected, err)
	}
	var out []sipmsg.Uri
	var routes [][]sipmsg.Uri
	for _, b := range bindings {
		out = append(out, *b.Contact.Clone())
		routes = append(routes, b.Path)
	}
	if len(out) == 0 && g.cfg.Trunk != "" && isNumber(user) {
		host, portStr, err := net.SplitHostPort(g.cfg.Trunk)
		port := 0
		if err != nil {
			host = g.cfg.Trunk
		} else {
			port, _ = strconv.Atoi(portStr)
		}
		out = append(out, sipmsg.Uri{Scheme: "sip", User: user, Host: host, Port: port})
		routes = append(routes, nil)
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("%w: %q not registered", ErrNotFound, user)
	}
	return out, routes, nil
}

func isNumber(s string) bool {
	s = strings.TrimPrefix(s, "+")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// sdpFor writes our SDP for a leg.
func (g *Gateway) localSDP(c *Call, port int, codecs []media.Codec, dtmf int, dir sdp.Direction) []byte {
	c.mu.Lock()
	c.sdpVer++
	v := c.sdpVer
	c.mu.Unlock()
	return sdp.Build(sdp.Local{Addr: g.publicIP, Port: port, Codecs: codecs, DTMF: dtmf, Direction: dir,
		SessionID: c.sdpSessID, Version: v})
}
