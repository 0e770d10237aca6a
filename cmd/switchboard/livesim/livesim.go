package livesim

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/gorilla/websocket"

	"switchboard/sip"
)

// Options configures a live simulation.
type Options struct {
	HTTP     string        // the server's HTTP address (REST, CTI)
	SIP      string        // the server's SIP address (UDP)
	Local    string        // the simulator's own SIP address (UDP)
	RTPMin   int           // the simulator's RTP port range (0: ports the system picks)
	DNIS     []string      // numbers the callers dial
	Agents   []string      // agent logins to simulate
	Password string        // their password (also their SIP secret)
	Rate     float64       // new calls per minute (Poisson)
	Talk     time.Duration // mean talk time (lognormal)
	Patience time.Duration // mean patience in queue (exponential)
	Duration time.Duration // how long the traffic runs once every agent is ready (0: until interrupted)
	Prompts  string        // prompt root; its en/ WAVs are what the parties say
	Seed     uint64
	// CreateAgents, when > 0, first creates that many agents (sim001…)
	// through the REST API as the admin, and simulates them instead of
	// Agents: enough agents for a load test.
	CreateAgents  int
	AdminPassword string // the admin's password for CreateAgents
	// SIPp, when set, has SIPp (sip-tester) place the calls instead of the
	// simulator's own user agent, from SIP port SIPpPort: the callers of a
	// load test, pressing 1 by SIP INFO and hanging up after a talk time
	// around Talk (the agents then talk until the caller hangs up).
	SIPp     bool
	SIPpPort int
	// Report, when set, receives the server's figures over the run (load,
	// screen-pop latency, CPU, memory) read from its /metrics.
	Report io.Writer
	// Trusted are more addresses whose INVITEs ring the agents' phones
	// (a cluster's nodes, besides the SIP edge).
	Trusted []string
	// OnTraffic, when set, is called as the traffic window starts.
	OnTraffic func()
	// SpreadSources connects each simulated agent's desk from a loopback
	// address of its own (127.1.0.1, …), as desks on separate machines
	// do, so that an HTTP edge's per-client limits apply per desk.
	SpreadSources bool
	// SMTP is the server's SMTP listener; with EmailRate > 0 simulated
	// customers write to EmailTo there (emails per minute), and the
	// simulated agents answer the email tasks they are offered.
	SMTP      string
	EmailRate float64
	EmailTo   []string
}

// Main is the body of `switchboard simulate --live`.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulate --live", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	var dnis, agents string
	fs.StringVar(&o.HTTP, "http", "127.0.0.1:8080", "the server's HTTP address")
	fs.StringVar(&o.SIP, "sip", "127.0.0.1:5060", "the server's SIP address (UDP)")
	fs.StringVar(&o.Local, "local", "127.0.0.1:5070", "the simulator's SIP address")
	fs.IntVar(&o.RTPMin, "rtp", 40000, "first RTP port of the simulator (12000 ports)")
	fs.StringVar(&dnis, "dnis", "+15550100", "comma-separated numbers to dial")
	fs.StringVar(&agents, "agents", "alice,bob,carol,dave,erin,frank", "comma-separated agent logins to simulate")
	fs.StringVar(&o.Password, "password", "demo", "the simulated agents' password and SIP secret")
	fs.Float64Var(&o.Rate, "rate", 6, "new calls per minute")
	fs.DurationVar(&o.Talk, "talk", 40*time.Second, "mean talk time")
	fs.DurationVar(&o.Patience, "patience", 90*time.Second, "mean time a caller waits in queue before hanging up")
	fs.DurationVar(&o.Duration, "duration", 0, "how long to place calls once every agent is ready (0: until Ctrl-C)")
	fs.StringVar(&o.Prompts, "prompts", "ivr/prompts", "prompt root (the parties say its English prompts)")
	fs.Uint64Var(&o.Seed, "seed", uint64(time.Now().UnixNano()), "random seed")
	fs.IntVar(&o.CreateAgents, "create-agents", 0, "create this many agents (sim001…) as the admin and simulate them instead of --agents")
	fs.StringVar(&o.AdminPassword, "admin-password", "admin", "the admin's password, for --create-agents")
	fs.BoolVar(&o.SIPp, "sipp", false, "callers are SIPp (sip-tester) instead of the simulator's own (load tests; needs --duration)")
	fs.IntVar(&o.SIPpPort, "sipp-port", 5080, "SIPp's SIP port, with --sipp")
	var emailTo string
	fs.StringVar(&o.SMTP, "smtp", "127.0.0.1:2525", "the server's SMTP listener")
	fs.Float64Var(&o.EmailRate, "email-rate", 2, "customer emails per minute (0: none)")
	fs.StringVar(&emailTo, "email-to", "support@example.com,billing@example.com", "comma-separated support addresses the customers write to")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	o.DNIS, o.Agents, o.EmailTo = splitList(dnis), splitList(agents), splitList(emailTo)
	o.Report = stdout
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// The SIP library's own chatter (per-connection warnings) stays out of
	// the way of the simulator's output.
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	st, err := Run(ctx, o, logger)
	fmt.Fprintf(stdout, "calls placed %d, answered by simulated agents %d, wrap-ups %d; emails sent %d, answered %d\n",
		st.Calls.Load(), st.Answered.Load(), st.WrapUps.Load(), st.Emails.Load(), st.EmailReplies.Load())
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintln(stderr, "simulate:", err)
		return 1
	}
	return 0
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Stats counts what a simulation did.
type Stats struct {
	Calls, Answered, WrapUps, Failed atomic.Int64
	// Emails counts the customer emails sent, EmailReplies the simulated
	// agents' replies.
	Emails, EmailReplies atomic.Int64
	// Reconnects counts desks connected again after their connection
	// dropped.
	Reconnects atomic.Int64
	// Talking is the number of simulated agents on a call now (bridged
	// calls); PeakTalking its highest value.
	Talking, PeakTalking atomic.Int64
	// FailedWhy says why SIPp's failed calls failed (SIPp's failure
	// counters), once SIPp has exited.
	FailedWhy string
}

func (st *Stats) talk(delta int64) {
	n := st.Talking.Add(delta)
	for {
		p := st.PeakTalking.Load()
		if n <= p || st.PeakTalking.CompareAndSwap(p, n) {
			return
		}
	}
}

type sim struct {
	o      Options
	log    *slog.Logger
	gw     *sip.Gateway
	server netip.AddrPort
	stats  *Stats
	voice  []string // WAVs the parties say

	sippPID atomic.Int64 // the running SIPp's process ID (0: none)

	mu  sync.Mutex
	rng *rand.Rand
}

// Run sets the simulation up (the agents log in, register their phones and
// go ready), then places calls for o.Duration (or until ctx ends) and waits
// for the calls in flight to end.
func Run(ctx context.Context, o Options, logger *slog.Logger) (*Stats, error) {
	st := &Stats{}
	server, err := netip.ParseAddrPort(o.SIP)
	if err != nil {
		return st, fmt.Errorf("livesim: --sip: %w", err)
	}
	local, err := netip.ParseAddrPort(o.Local)
	if err != nil {
		return st, fmt.Errorf("livesim: --local: %w", err)
	}
	s := &sim{o: o, log: logger, server: server, stats: st, rng: rand.New(rand.NewPCG(o.Seed, 7))}
	for _, n := range []string{"welcome", "main_menu", "ticket_menu", "please_hold", "callback_offer"} {
		s.voice = append(s.voice, filepath.Join(o.Prompts, "en", n+".wav"))
	}
	// A port pair per leg: every leg's remote is one of the server's few
	// shared RTP sockets, which a shared socket here could not tell apart.
	rtpMax := 0
	if o.RTPMin > 0 {
		rtpMax = o.RTPMin + 11999
	}
	// The server is this user agent's trunk: its INVITEs (every agent's
	// phone ringing) are not held to the per-source limit of
	// unauthenticated requests.
	s.gw, err = sip.New(sip.Config{UDPAddr: o.Local, PublicIP: local.Addr().String(), RTPPortMin: o.RTPMin, RTPPortMax: rtpMax,
		MaxCalls: 5900, Realm: "livesim", TrustedSources: append([]string{server.Addr().String()}, o.Trusted...)},
		sip.WithLogger(slog.New(slog.DiscardHandler)), sip.WithCallHandler(s.agentRings))
	if err != nil {
		return st, err
	}
	// Everything below ends with runCtx: when ctx does, or once the
	// traffic window is over and the calls in flight have been hung up.
	runCtx, stopAll := context.WithCancel(ctx)
	defer stopAll()
	errc := make(chan error, 1)
	go func() { errc <- s.gw.Serve(runCtx) }()
	select {
	case <-s.gw.Ready():
	case err := <-errc:
		return st, err
	}

	if o.CreateAgents > 0 {
		if s.o.Agents, err = s.createAgents(ctx, o.CreateAgents); err != nil {
			return st, err
		}
	}
	// Agents run until the end of the simulation; the traffic window starts
	// once all of them are ready (logging hundreds of agents in is bcrypt
	// work the measurement must not include).
	var agents, ready sync.WaitGroup
	for i, login := range s.o.Agents {
		agents.Add(1)
		ready.Add(1)
		go func() {
			defer agents.Done()
			readyOnce := sync.OnceFunc(ready.Done)
			defer readyOnce()
			if err := s.agent(runCtx, i, login, readyOnce); err != nil && runCtx.Err() == nil {
				s.log.Warn("simulated agent stopped", "agent", login, "err", err)
			}
		}()
	}
	ready.Wait()
	contacts := s.callerNumbers(ctx)
	traffic := runCtx
	if o.Duration > 0 {
		var cancel context.CancelFunc
		traffic, cancel = context.WithTimeout(runCtx, o.Duration)
		defer cancel()
	}
	before, sampleErr := s.sample(ctx)
	if o.OnTraffic != nil {
		o.OnTraffic()
	}
	s.log.Info("live simulation running", "agents", len(s.o.Agents), "rate_per_min", o.Rate, "dial", o.DNIS)
	var calls sync.WaitGroup
	if o.SMTP != "" && o.EmailRate > 0 && len(o.EmailTo) > 0 {
		calls.Go(func() { s.emails(traffic) })
	}
	var sippDone func() error
	if o.SIPp {
		if o.Duration <= 0 {
			return st, errors.New("livesim: --sipp needs --duration")
		}
		var exited <-chan struct{}
		if exited, sippDone, err = s.runSIPp(runCtx, contacts); err != nil {
			return st, err
		}
		select {
		case <-traffic.Done():
		case <-exited: // done early, or failed: no point waiting out the window
		}
	}
	for !o.SIPp && traffic.Err() == nil {
		s.mu.Lock()
		gap := time.Duration(s.rng.ExpFloat64() / (o.Rate / 60) * float64(time.Second))
		ani := contacts[s.rng.IntN(len(contacts))]
		dnis := o.DNIS[s.rng.IntN(len(o.DNIS))]
		s.mu.Unlock()
		select {
		case <-traffic.Done():
		case <-time.After(gap):
			calls.Add(1)
			go func() { defer calls.Done(); s.caller(runCtx, ani, dnis) }()
		}
	}
	// The window ends with the last call placed; calls in flight are
	// then hung up (SIPp's callers finish their calls first).
	after, afterErr := s.sample(context.WithoutCancel(ctx))
	var sippErr error
	if sippDone != nil {
		sippErr = sippDone()
	}
	if o.Report != nil && sampleErr == nil && afterErr == nil && sippErr == nil {
		s.report(o.Report, before, after)
		if sippDone != nil {
			// Every SIPp call has ended: each must have its record.
			s.awaitRecords(context.WithoutCancel(ctx), o.Report, before)
		}
	}
	stopAll()
	calls.Wait()
	agents.Wait()
	<-errc
	if sippErr != nil {
		return st, sippErr
	}
	return st, ctx.Err()
}

func (s *sim) float() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Float64()
}

func (s *sim) exp(mean time.Duration) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Duration(s.rng.ExpFloat64() * float64(mean))
}

// lognormal draws a duration with the given mean and a spread of σ = 0.5.
func (s *sim) lognormal(mean time.Duration) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	const sigma = 0.5
	mu := math.Log(float64(mean)) - sigma*sigma/2
	return time.Duration(math.Exp(mu + sigma*s.rng.NormFloat64()))
}

// callerNumbers returns the CRM's contact numbers (so screen pops show real
// customers) plus a few unknown ones.
func (s *sim) callerNumbers(ctx context.Context) []string {
	nums := []string{"+12025550199", "+447700900123", "+33612345678"}
	tok, err := s.login(ctx, http.DefaultClient, s.o.Agents[0], s.o.Password)
	if err != nil {
		return nums
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+s.o.HTTP+"/api/v1/contacts?limit=100", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nums
	}
	defer res.Body.Close()
	var page struct {
		Items []struct {
			Phones []struct {
				E164 string `json:"e164"`
			} `json:"phones"`
		} `json:"items"`
	}
	if json.NewDecoder(res.Body).Decode(&page) == nil {
		for _, c := range page.Items {
			for _, p := range c.Phones {
				nums = append(nums, p.E164)
			}
		}
	}
	return nums
}

// login opens a REST session. A server busy checking passwords (a login
// storm: 503) is asked again after its Retry-After, a few times.
func (s *sim) login(ctx context.Context, client *http.Client, login, password string) (string, error) {
	body := fmt.Sprintf(`{"login":%q,"password":%q}`, login, password)
	for attempt := 0; ; attempt++ {
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+s.o.HTTP+"/api/v1/sessions", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			return "", err
		}
		var out struct {
			Token string `json:"token"`
		}
		err = json.NewDecoder(res.Body).Decode(&out)
		res.Body.Close()
		if res.StatusCode == http.StatusServiceUnavailable && attempt < 20 {
			wait, _ := strconv.Atoi(res.Header.Get("Retry-After"))
			select {
			case <-time.After(time.Duration(max(wait, 1)) * time.Second):
				continue
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		if err != nil || out.Token == "" {
			return "", fmt.Errorf("livesim: login %s: HTTP %d", login, res.StatusCode)
		}
		return out.Token, nil
	}
}

// step is a caller's pause, then the keys they press.
type step struct {
	wait time.Duration
	keys string
}

// createAgents creates n simulated agents with every demo skill (an
// existing one is reused) and returns their logins.
func (s *sim) createAgents(ctx context.Context, n int) ([]string, error) {
	tok, err := s.login(ctx, http.DefaultClient, "admin", s.o.AdminPassword)
	if err != nil {
		return nil, err
	}
	// Agents left by an earlier run are reused as they are (creating one
	// hashes its password: not work to repeat).
	existing := map[string]bool{}
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+s.o.HTTP+"/api/v1/agents", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	var list struct {
		Items []struct {
			Login string `json:"login"`
		} `json:"items"`
	}
	err = json.NewDecoder(res.Body).Decode(&list)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("livesim: list agents: HTTP %d: %v", res.StatusCode, err)
	}
	for _, a := range list.Items {
		existing[a.Login] = true
	}
	logins := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		login := fmt.Sprintf("sim%03d", i)
		if existing[login] {
			logins = append(logins, login)
			continue
		}
		body, _ := json.Marshal(map[string]any{
			"login": login, "name": fmt.Sprintf("Sim Agent %d", i), "role": "agent", "password": s.o.Password,
			"skills":    []map[string]any{{"name": "sales", "level": 3}, {"name": "support", "level": 3}, {"name": "billing", "level": 3}},
			"languages": []string{"en"}, "country": "US", "sip_username": login, "sip_secret": s.o.Password,
		})
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+s.o.HTTP+"/api/v1/agents", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusOK && res.StatusCode != http.StatusConflict {
			return nil, fmt.Errorf("livesim: create agent %s: HTTP %d", login, res.StatusCode)
		}
		logins = append(logins, login)
	}
	return logins, nil
}

// caller places one call: the IVR journey by DTMF, then waiting with
// limited patience, or talking once an agent answers.
func (s *sim) caller(ctx context.Context, ani, dnis string) {
	target := fmt.Sprintf("sip:%s@%s", dnis, s.server)
	c, err := s.gw.Dial(ctx, target, sip.DialOptions{CallerID: ani, Timeout: 20 * time.Second})
	if err != nil {
		if ctx.Err() != nil {
			return // the simulation ended while it rang
		}
		s.stats.Failed.Add(1)
		s.log.Warn("simulated call failed", "ani", ani, "err", err)
		return
	}
	s.stats.Calls.Add(1)
	defer c.Hangup(context.WithoutCancel(ctx))
	// Hearing an agent: audio after the IVR's last prompt.
	var heard atomic.Int64
	remove := c.Session().AddTap(func(p []int16) {
		for _, v := range p {
			if v > 1000 || v < -1000 {
				heard.Add(1)
				return
			}
		}
	})
	defer remove()
	pause := func(d time.Duration) bool {
		select {
		case <-c.Context().Done():
			return false
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	var script []step
	switch r := s.float(); {
	case r < 0.5: // support: ticket number, confirm, ask for an agent
		script = []step{{3 * time.Second, "2"}, {2 * time.Second, "1042#"}, {2500 * time.Millisecond, "1"}, {5500 * time.Millisecond, "1"}}
	case r < 0.8: // sales
		script = []step{{3 * time.Second, "1"}}
	default: // billing
		script = []step{{3 * time.Second, "3"}}
	}
	for _, step := range script {
		if !pause(step.wait) {
			return
		}
		if err := c.SendDTMF(ctx, step.keys); err != nil {
			return
		}
	}
	// Past the "please hold" prompt, any audio is an agent (or voicemail).
	if !pause(3 * time.Second) {
		return
	}
	heard.Store(0)
	patience := time.After(s.exp(s.o.Patience))
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-c.Context().Done():
			return
		case <-ctx.Done():
			return
		case <-patience:
			if heard.Load() == 0 {
				return // abandons
			}
		case <-tick.C:
			if heard.Load() > 0 {
				// Talking: say something now and then until someone hangs up.
				_ = c.Play(c.Context(), s.voice[:1], false)
			}
		}
	}
}

// agent logs a simulated agent in (REST, CTI), registers their phone at the
// server with our gateway as its contact, goes ready and wraps up every call.
func (s *sim) agent(ctx context.Context, i int, login string, ready func()) error {
	client, dialer := http.DefaultClient, websocket.DefaultDialer
	if s.o.SpreadSources {
		src := &net.TCPAddr{IP: net.IPv4(127, 1, byte(i/250), byte(i%250+1))}
		d := &net.Dialer{LocalAddr: src, Timeout: 10 * time.Second}
		client = &http.Client{Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 1}}
		dialer = &websocket.Dialer{NetDialContext: d.DialContext, HandshakeTimeout: 10 * time.Second}
		defer client.CloseIdleConnections()
	}
	tok, err := s.login(ctx, client, login, s.o.Password)
	if err != nil {
		return err
	}
	if err := s.register(ctx, login); err != nil {
		return err
	}
	// The desk reconnects when its connection drops (a cluster's leader
	// died and the HTTP edge sends it to the next), with the same session
	// while it is valid, and goes ready again; it backs off as the web
	// desk does (cti.js): from 500 ms, doubling up to 10 s.
	backoff := 500 * time.Millisecond
	for {
		began := time.Now()
		err := s.desk(ctx, dialer, login, tok, ready)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Since(began) > 10*time.Second {
			backoff = 500 * time.Millisecond // it was connected a while
		}
		var refused *deskRefused
		if errors.As(err, &refused) {
			if refused.status != http.StatusUnauthorized {
				return err
			}
			if tok, err = s.login(ctx, client, login, s.o.Password); err != nil {
				return err
			}
		}
		s.stats.Reconnects.Add(1)
		s.log.Debug("desk reconnecting", "agent", login, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// ctiSender returns a desk's command sender on conn: each command in the
// CTI envelope with an id of its own (prefix-n), one write at a time.
func ctiSender(conn *websocket.Conn, prefix string) func(typ string, data any) error {
	var mu sync.Mutex
	seq := 0
	return func(typ string, data any) error {
		mu.Lock()
		defer mu.Unlock()
		seq++
		b, _ := json.Marshal(data)
		return conn.WriteJSON(map[string]any{"v": 1, "type": typ, "id": fmt.Sprintf("%s-%d", prefix, seq), "data": json.RawMessage(b)})
	}
}

// deskRefused is the HTTP edge's answer to a CTI connection it refused.
type deskRefused struct{ status int }

func (e *deskRefused) Error() string { return fmt.Sprintf("livesim: CTI refused: HTTP %d", e.status) }

// desk runs one CTI connection of the agent: ready, then wrap-ups, until
// the connection ends.
func (s *sim) desk(ctx context.Context, dialer *websocket.Dialer, login, tok string, ready func()) error {
	conn, res, err := dialer.DialContext(ctx, "ws://"+s.o.HTTP+"/cti", http.Header{"Authorization": {"Bearer " + tok}})
	if err != nil {
		if res != nil && res.StatusCode != http.StatusBadGateway && res.StatusCode != http.StatusServiceUnavailable {
			return &deskRefused{status: res.StatusCode}
		}
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	send := ctiSender(conn, login)
	if err := send("presence.set", map[string]string{"presence": "ready"}); err != nil {
		return err
	}
	ready()
	dispositions := []string{"resolved", "resolved", "follow-up", "escalated", "sale", "no-sale"}
	tickets := map[string]string{} // email task → ticket number
	for {
		var ev struct {
			Type string `json:"type"`
			Data struct {
				CallID  string `json:"call_id"`
				Code    string `json:"code"`
				TaskID  string `json:"task_id"`
				Channel string `json:"channel"`
				State   string `json:"state"`
				CRM     struct {
					Ticket struct {
						Number string `json:"number"`
					} `json:"ticket"`
				} `json:"crm"`
			} `json:"data"`
		}
		if err := conn.ReadJSON(&ev); err != nil {
			return err
		}
		switch ev.Type {
		case "task.offered":
			if ev.Data.Channel == "email" && ev.Data.CRM.Ticket.Number != "" {
				tickets[ev.Data.TaskID] = ev.Data.CRM.Ticket.Number
				_ = send("task.accept", map[string]string{"task_id": ev.Data.TaskID})
			}
		case "task.state":
			number, ok := tickets[ev.Data.TaskID]
			switch {
			case !ok:
			case ev.Data.State == "active":
				go s.answerEmail(ctx, tok, number)
			case ev.Data.State == "wrap-up":
				_ = send("task.wrapup", map[string]string{"task_id": ev.Data.TaskID, "disposition": "resolved", "notes": "Simulated email."})
			case ev.Data.State == "ended" || ev.Data.State == "done":
				delete(tickets, ev.Data.TaskID)
			}
		case "wrapup.started":
			callID := ev.Data.CallID
			go func() {
				select {
				case <-ctx.Done():
					return
				case <-time.After(2*time.Second + s.exp(4*time.Second)):
				}
				d := dispositions[int(s.float()*float64(len(dispositions)))]
				if send("wrapup.submit", map[string]any{"call_id": callID, "disposition": d, "notes": "Simulated call."}) == nil {
					s.stats.WrapUps.Add(1)
				}
			}()
		case "error":
			s.log.Debug("CTI error", "agent", login, "code", ev.Data.Code)
		}
	}
}

// registerError is a final non-2xx answer to a REGISTER.
type registerError struct {
	login      string
	code       int
	reason     string
	retryAfter time.Duration // the response's Retry-After; 0 when absent
}

func (e *registerError) Error() string {
	return fmt.Sprintf("livesim: REGISTER %s: %d %s", e.login, e.code, e.reason)
}

// retryAfter reads a response's Retry-After seconds (RFC 3261 20.33),
// capped at a minute; 0 when absent or malformed.
func retryAfter(res *sipmsg.Response) time.Duration {
	h := res.GetHeader("Retry-After")
	if h == nil {
		return 0
	}
	v := h.Value()
	if i := strings.IndexAny(v, ";("); i >= 0 { // parameters, a comment
		v = v[:i]
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0
	}
	return min(time.Duration(n)*time.Second, time.Minute)
}

// register binds login's SIP account to the simulator's gateway (the
// gateway sends the REGISTER from its own socket, as a phone does, so a
// SIP edge that rings phones through their REGISTER's source address
// reaches it), and refreshes it until ctx ends.
func (s *sim) register(ctx context.Context, login string) error {
	once := func() error {
		res, err := s.gw.Register(ctx, s.server, login, s.o.Password, 300)
		if err != nil {
			return err
		}
		if res.StatusCode != 200 {
			return &registerError{login: login, code: res.StatusCode, reason: res.Reason, retryAfter: retryAfter(res)}
		}
		return nil
	}
	// Like a phone, retry a failed registration a few times (a server
	// busy logging hundreds of agents in may answer 500 or 503 for a
	// moment), after the server's Retry-After when it gives one.
	err := once()
	for try := 1; err != nil && try < 8 && ctx.Err() == nil; try++ {
		wait := time.Duration(try) * time.Second
		if re, ok := err.(*registerError); ok && re.retryAfter > 0 {
			wait = re.retryAfter
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
			err = once()
		}
	}
	if err != nil {
		return err
	}
	go func() {
		// Refresh well before the 300 s expiry, at a time of the phone's
		// own (phones that came up together do not re-register together),
		// and retry a failed refresh every few seconds, as phones do.
		next := 200*time.Second + time.Duration(s.float()*float64(80*time.Second))
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(next):
				next = 200*time.Second + time.Duration(s.float()*float64(80*time.Second))
				if err := once(); err != nil && ctx.Err() == nil {
					s.log.Warn("re-REGISTER failed; retrying in 5 s", "agent", login, "err", err)
					next = 5 * time.Second
				}
			}
		}
	}()
	return nil
}

// agentRings is a simulated agent's phone: the gateway has answered it;
// the agent talks for a while, then hangs up.
func (s *sim) agentRings(c *sip.Call) {
	s.stats.Answered.Add(1)
	s.stats.talk(1)
	defer s.stats.talk(-1)
	talk := s.lognormal(s.o.Talk)
	if s.o.SIPp {
		talk = 24 * time.Hour // SIPp's caller hangs up
	}
	ctx, cancel := context.WithTimeout(c.Context(), talk)
	defer cancel()
	for ctx.Err() == nil {
		if err := c.Play(ctx, s.voice[1:], false); err != nil {
			break
		}
	}
	_ = c.Hangup(context.WithoutCancel(ctx))
}
