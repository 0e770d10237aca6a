package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"

	"switchboard/acd"
	"switchboard/agentdesk/agentdesktest"
	"switchboard/cmd/switchboard/edgetest"
	"switchboard/cmd/switchboard/livesim"
	"switchboard/crmcore"
	"switchboard/crmcore/pgcluster/pgtest"
	"switchboard/sip/media"
	"switchboard/sip/siptest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// system is a whole Switchboard started in-process on loopback ports with
// its own database.
type system struct {
	t    *testing.T
	cfg  *Config
	http string
	sip  netip.AddrPort
	dsn  string
	stop func() // shuts the server down (as SIGTERM does) and waits for it
}

// sippMediaPort asks the kernel for a UDP port from which SIPp's four
// media ports (audio and video RTP and RTCP) are free.
func sippMediaPort(t *testing.T) int {
	t.Helper()
	for range 50 {
		p := freePort(t, "udp")
		if p+3 > 65535 {
			continue
		}
		var held []net.PacketConn
		for q := p; q < p+4; q++ {
			c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", q))
			if err != nil {
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			c.Close()
		}
		if len(held) == 4 {
			return p
		}
	}
	t.Fatal("no four free UDP ports for SIPp's media")
	return 0
}

// freePort returns a loopback port free for TCP and, for "udp", for UDP
// as well (the gateway listens on both).
func freePort(t *testing.T, network string) int {
	t.Helper()
	return int(edgetest.FreePort(t, netip.MustParseAddr("127.0.0.1"), network == "udp").Port())
}

var openHours = regexp.MustCompile(`(?s)weekly:\n.*?\n        holidays: \[[^\]]*\]`)

// openAllDay and closedToday replace the demo flow's business hours so that
// a test does not depend on the time it runs at.
const openAllDay = "weekly:\n" +
	"          mon: [\"00:00-24:00\"]\n          tue: [\"00:00-24:00\"]\n          wed: [\"00:00-24:00\"]\n" +
	"          thu: [\"00:00-24:00\"]\n          fri: [\"00:00-24:00\"]\n          sat: [\"00:00-24:00\"]\n" +
	"          sun: [\"00:00-24:00\"]\n        holidays: []"

func closedToday() string {
	now := time.Now().UTC()
	var days []string
	for d := -1; d <= 1; d++ {
		days = append(days, fmt.Sprintf("%q", now.AddDate(0, 0, d).Format("2006-01-02")))
	}
	return "weekly:\n          mon: [\"09:00-17:00\"]\n        holidays: [" + strings.Join(days, ", ") + "]"
}

// startSystem runs serve with the demo configuration, adapted for a test:
// free loopback ports, a fresh database, and the demo flows with their
// business hours replaced by hours (the flows are otherwise the demo's).
func startSystem(t *testing.T, hours string, edit func(*Config)) *system {
	t.Helper()
	siptest.RequireProgram(t, "sipp", "sip-tester")
	cfg, err := parseConfig("demo.yaml", demoConfig)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	flows, err := os.ReadFile("../../ivr/testdata/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	open := openHours.ReplaceAllString(string(flows), hours)
	if open == string(flows) {
		t.Fatal("could not open the demo flow's business hours")
	}
	cfg.IVR.Flows = filepath.Join(dir, "flows.yaml")
	if err := os.WriteFile(cfg.IVR.Flows, []byte(open), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.IVR.Prompts = "../../ivr/prompts"
	cfg.IVR.HoursOverride = "" // the test sets the hours in the flows
	cfg.SIP.MusicOnHold = "../../ivr/prompts/en/please_hold.wav"
	cfg.SIP.RecordingDir = filepath.Join(dir, "recordings")
	cfg.Database.URL = pgtest.NewDatabase(t)
	cfg.Database.DataDir = dir
	cfg.SIP.RTPPortMin, cfg.SIP.RTPPortMax = 0, 0 // ports the system picks
	cfg.SIP.DrainTimeout = Duration(3 * time.Second)
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// A port is free when picked but may be taken (an outgoing
	// connection's local port) before serve binds it: serve then exits
	// at once, and starts again on other ports.
	for attempt := 1; ; attempt++ {
		cfg.HTTP.Listen = fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp"))
		cfg.SIP.UDP = fmt.Sprintf("127.0.0.1:%d", freePort(t, "udp"))
		cfg.SIP.TCP = cfg.SIP.UDP
		cfg.Mail.SMTP = fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp"))
		if edit != nil {
			edit(cfg)
		}
		s, err := runSystem(t, cfg, logger)
		if errors.Is(err, syscall.EADDRINUSE) && attempt < 3 {
			t.Logf("starting again on other ports: %v", err)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

// runSystem runs serve with cfg and waits until it is ready. An error
// means serve exited or never became ready; serve is stopped by then.
func runSystem(t *testing.T, cfg *Config, logger *slog.Logger) (*system, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, logger) }()
	stop := sync.OnceFunc(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	s := &system{t: t, cfg: cfg, http: cfg.HTTP.Listen, sip: netip.MustParseAddrPort(cfg.SIP.UDP), dsn: cfg.Database.URL, stop: stop}
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get("http://" + s.http + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				t.Cleanup(stop)
				return s, nil
			}
		}
		select {
		case err := <-done:
			cancel()
			return nil, fmt.Errorf("serve exited: %w", err)
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return nil, errors.New("server not ready after 60 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// testWriter sends the server's log to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// login opens a REST session and returns its token and the agent id.
func (s *system) login(user, password string) (token, agentID string) {
	s.t.Helper()
	res, err := http.Post("http://"+s.http+"/api/v1/sessions", "application/json",
		strings.NewReader(fmt.Sprintf(`{"login":%q,"password":%q}`, user, password)))
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Token string `json:"token"`
		Agent struct {
			ID string `json:"id"`
		} `json:"agent"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.Token == "" {
		s.t.Fatalf("login %s: status %d, %v", user, res.StatusCode, err)
	}
	return out.Token, out.Agent.ID
}

// agent logs an agent in on the desktop (CTI) and registers their desk
// phone, which answers calls when answer is set and refuses them (486)
// otherwise. The agent is not ready yet.
func (s *system) agent(login string, answer bool) (*cti, *siptest.Phone, string) {
	s.t.Helper()
	token, id := s.login(login, "demo")
	desk := s.connectCTI(token)
	desk.waitFor(5*time.Second, func(e envelope) bool { return e.Type == "hello" })
	phone := siptest.NewPhone(s.t, login)
	if answer {
		pcmu := media.PCMU
		phone.AnswerWith(&pcmu)
	}
	res, err := phone.Register(s.t.Context(), s.sip, "demo", 300)
	if err != nil || res.StatusCode != 200 {
		s.t.Fatalf("REGISTER %s: %v %v", login, res, err)
	}
	return desk, phone, id
}

// cti is a desktop's CTI connection.
type cti struct {
	t      *testing.T
	conn   *websocket.Conn
	events chan envelope
	seq    int
	mu     sync.Mutex
	// pending are events a command's wait for its reply passed over.
	pending []envelope
}

type envelope struct {
	V    int             `json:"v"`
	Type string          `json:"type"`
	ID   string          `json:"id,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

func (s *system) connectCTI(token string) *cti {
	s.t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+s.http+"/cti", http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		s.t.Fatal(err)
	}
	c := &cti{t: s.t, conn: conn, events: make(chan envelope, 256)}
	go func() {
		defer close(c.events)
		for {
			var e envelope
			if err := conn.ReadJSON(&e); err != nil {
				return
			}
			c.events <- e
		}
	}()
	s.t.Cleanup(func() { conn.Close() })
	return c
}

// command sends a command and waits for its reply.
func (c *cti) command(typ string, data any) envelope {
	c.t.Helper()
	c.mu.Lock()
	c.seq++
	id := "c" + strconv.Itoa(c.seq)
	c.mu.Unlock()
	b, _ := json.Marshal(data)
	if err := c.conn.WriteJSON(envelope{V: 1, Type: typ, ID: id, Data: b}); err != nil {
		c.t.Fatal(err)
	}
	// Events that come before the reply (the change the command made)
	// stay for the test's next waitFor.
	var skipped []envelope
	e := c.waitFor(10*time.Second, func(e envelope) bool {
		if e.ID == id {
			return true
		}
		skipped = append(skipped, e)
		return false
	})
	c.mu.Lock()
	c.pending = append(c.pending, skipped...)
	c.mu.Unlock()
	if e.Type != "ok" {
		c.t.Fatalf("%s: %s %s", typ, e.Type, e.Data)
	}
	return e
}

// waitFor returns the first event that matches, failing after d.
func (c *cti) waitFor(d time.Duration, match func(envelope) bool) envelope {
	c.t.Helper()
	c.mu.Lock()
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	for i, e := range pending {
		if match(e) {
			c.mu.Lock()
			c.pending = append(pending[i+1:], c.pending...)
			c.mu.Unlock()
			return e
		}
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case e, ok := <-c.events:
			if !ok {
				c.t.Fatal("CTI connection closed")
			}
			if match(e) {
				return e
			}
		case <-timer.C:
			c.t.Fatalf("no matching CTI event within %v", d)
		}
	}
}

// sipp runs one SIPp caller scenario against the system in the background.
func (s *system) sipp(scenario, name, number, service string, extra ...string) <-chan error {
	s.t.Helper()
	bin := siptest.RequireProgram(s.t, "sipp", "sip-tester")
	scen := scenario
	if !filepath.IsAbs(scen) {
		var err error
		if scen, err = filepath.Abs(filepath.Join("testdata", "sipp", scenario)); err != nil {
			s.t.Fatal(err)
		}
	}
	dir := s.t.TempDir()
	inf := filepath.Join(dir, "callers.csv")
	if err := os.WriteFile(inf, []byte("SEQUENTIAL\n"+name+";"+number+";\n"), 0o644); err != nil {
		s.t.Fatal(err)
	}
	args := append([]string{"-sf", scen, "-inf", inf, "-m", "1", "-i", "127.0.0.1", "-p", strconv.Itoa(freePort(s.t, "udp")),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(sippMediaPort(s.t)), "-s", service, "-nostdin",
		"-timeout", "90s", "-timeout_error", "-trace_err", "-error_file", filepath.Join(dir, "err.log")}, extra...)
	args = append(args, s.sip.String())
	errc := make(chan error, 1)
	go func() {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		s.t.Logf("sipp %v: %v\n%s", args, err, tail(out, 30))
		if err != nil {
			errLog, _ := os.ReadFile(filepath.Join(dir, "err.log"))
			err = fmt.Errorf("sipp %s: %v\n%s\n%s", scenario, err, tail(out, 15), errLog)
			s.t.Log(err)
		}
		errc <- err
	}()
	return errc
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// interaction is the stored record of a call, read from PostgreSQL.
type interaction struct {
	ID, CallID, Direction, ANI, DNIS, Queue, Outcome, Recording string
	ContactID, AgentID, Disposition, Notes, TicketID            *string
	IVRPath                                                     []crmcore.IVRStep
	Reasons                                                     []string
	Arrived                                                     time.Time
	Queued, Offered, Answered, Ended                            *time.Time
}

// waitInteraction polls the database until a completed record matching
// where exists (a call's record is in progress from its arrival to its end).
func (s *system) waitInteraction(where string, args ...any) interaction {
	s.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(20 * time.Second)
	for {
		var in interaction
		var path []byte
		err := conn.QueryRow(ctx, `SELECT id::text, call_id, direction, coalesce(ani,''), coalesce(dnis,''), coalesce(queue,''), outcome, recording,
			contact_id::text, agent_id::text, disposition, notes, ticket_id::text, ivr_path, routing_reasons,
			arrived_at, queued_at, offered_at, answered_at, ended_at
			FROM interactions WHERE outcome <> 'in-progress' AND (`+where+`) ORDER BY arrived_at DESC LIMIT 1`, args...).Scan(
			&in.ID, &in.CallID, &in.Direction, &in.ANI, &in.DNIS, &in.Queue, &in.Outcome, &in.Recording,
			&in.ContactID, &in.AgentID, &in.Disposition, &in.Notes, &in.TicketID, &path, &in.Reasons,
			&in.Arrived, &in.Queued, &in.Offered, &in.Answered, &in.Ended)
		if err == nil {
			if err := json.Unmarshal(path, &in.IVRPath); err != nil {
				s.t.Fatalf("ivr_path %s: %v", path, err)
			}
			return in
		}
		if err != pgx.ErrNoRows {
			s.t.Fatal(err)
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no interaction where %s %v", where, args)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// TestJourneySIPPhoneAgent is the whole journey with real protocol peers: a
// SIPp caller dials the demo number, presses 2 for support and enters a
// ticket number with RFC 2833 DTMF; an agent logged in over CTI with a
// registered SIP phone gets the screen pop and the call; audio flows both
// ways through the bridge; the caller hangs up; the agent wraps up; the
// interaction in PostgreSQL holds every field in order.
func TestJourneySIPPhoneAgent(t *testing.T) {
	s := startSystem(t, openAllDay, nil)
	desk, phone, bobID := s.agent("bob", true)
	desk.command("presence.set", map[string]string{"presence": "ready"})

	caller := s.sipp("caller_support.xml", "Liam Johnson", "+14155550101", "+15550100", "-rtp_echo")

	offer := desk.waitFor(45*time.Second, func(e envelope) bool { return e.Type == "call.offered" })
	var pop struct {
		CallID  string            `json:"call_id"`
		Queue   string            `json:"queue"`
		ANI     string            `json:"ani"`
		IVRVars map[string]string `json:"ivr_vars"`
		IVRPath []string          `json:"ivr_path"`
		Reasons []string          `json:"routing_reasons"`
		CRM     struct {
			Contact struct {
				ID, Name string
			} `json:"contact"`
		} `json:"crm"`
	}
	if err := json.Unmarshal(offer.Data, &pop); err != nil {
		t.Fatal(err)
	}
	if pop.Queue != "support" || pop.CRM.Contact.Name != "Liam Johnson" || pop.IVRVars["input.ticket"] != "1042" || len(pop.Reasons) == 0 {
		t.Errorf("screen pop = %s, want queue support, contact Liam Johnson, ticket 1042 and reasons", offer.Data)
	}

	var call *siptest.Call
	select {
	case call = <-phone.Inbound:
	case <-time.After(30 * time.Second):
		t.Fatal("agent phone never rang")
	}
	desk.waitFor(10*time.Second, func(e envelope) bool { return e.Type == "call.answered" })
	// The agent talks: a 440 Hz tone. SIPp echoes what it hears, so the
	// tone coming back proves audio crossed the bridge both ways.
	tone := make([]int16, 160)
	go func() {
		ticker := time.NewTicker(20 * time.Millisecond)
		defer ticker.Stop()
		for n := 0; n < 150; n++ {
			select {
			case <-call.Done():
				return
			case <-ticker.C:
			}
			for i := range tone {
				tone[i] = int16(8000 * sinApprox(float64(n*160+i)*440/8000))
			}
			_ = call.Session().WriteFrame(tone)
		}
	}()

	if err := <-caller; err != nil {
		t.Fatal(err)
	}
	select {
	case <-call.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("agent leg not hung up after the caller's BYE")
	}
	if loud := loudCount(call.Samples()); loud < 800 {
		t.Errorf("agent heard %d loud samples of its own tone back through the caller's echo, want ≥ 800", loud)
	}

	desk.waitFor(10*time.Second, func(e envelope) bool { return e.Type == "call.ended" || e.Type == "wrapup.started" })
	desk.command("wrapup.submit", map[string]any{"call_id": pop.CallID, "disposition": "resolved", "notes": "Refund confirmed."})

	in := s.waitInteraction("call_id = $1", pop.CallID)
	if in.Outcome != "answered" || in.Queue != "support" || in.Direction != "inbound" || in.DNIS != "+15550100" || in.ANI != "+14155550101" {
		t.Errorf("interaction = %+v", in)
	}
	if str(in.AgentID) != bobID || str(in.ContactID) != pop.CRM.Contact.ID || str(in.Disposition) != "resolved" || str(in.Notes) != "Refund confirmed." {
		t.Errorf("interaction agent/contact/wrap-up = %q %q %q %q", str(in.AgentID), str(in.ContactID), str(in.Disposition), str(in.Notes))
	}
	if len(in.Reasons) == 0 {
		t.Error("interaction has no routing reasons")
	}
	var nodes, digits []string
	for _, st := range in.IVRPath {
		nodes = append(nodes, st.Node)
		digits = append(digits, st.Digits)
	}
	if got := strings.Join(digits, ""); !strings.Contains(got, "21042") || !strings.Contains(strings.Join(nodes, " "), "support_queue") {
		t.Errorf("ivr path = %v / digits %q, want the support journey with 2, 1042", nodes, got)
	}
	// The conversation was recorded: caller on the left, agent on the right.
	left, right, err := media.ReadWAVStereo(in.Recording)
	if err != nil {
		t.Fatalf("recording %q: %v", in.Recording, err)
	}
	if loudCount(left) < 800 || loudCount(right) < 800 {
		t.Errorf("recording has %d loud caller samples and %d loud agent samples, want both sides", loudCount(left), loudCount(right))
	}
	stamps := []*time.Time{&in.Arrived, in.Queued, in.Offered, in.Answered, in.Ended}
	for i := 1; i < len(stamps); i++ {
		if stamps[i] == nil || stamps[i].Before(*stamps[i-1]) {
			t.Fatalf("timestamps out of order: arrived %v queued %v offered %v answered %v ended %v", in.Arrived, in.Queued, in.Offered, in.Answered, in.Ended)
		}
	}
}

// loudCount counts samples above a speaking level.
func loudCount(s []int16) int {
	n := 0
	for _, v := range s {
		if v > 2000 || v < -2000 {
			n++
		}
	}
	return n
}

// sinApprox is sin(2πx) for a test tone (Bhaskara's approximation).
func sinApprox(x float64) float64 {
	x -= float64(int(x))
	if x < 0.5 {
		y := x * 360
		return 4 * y * (180 - y) / (40500 - y*(180-y))
	}
	y := (x - 0.5) * 360
	return -4 * y * (180 - y) / (40500 - y*(180-y))
}

// TestJourneyAbandonWhileQueued: the caller hangs up while waiting; the
// record says abandoned, and no agent is rung after the hang-up.
func TestJourneyAbandonWhileQueued(t *testing.T) {
	s := startSystem(t, openAllDay, nil)
	desk, phone, _ := s.agent("bob", true)

	caller := s.sipp("caller_support.xml", "Liam Johnson", "+14155550101", "+15550100")
	if err := <-caller; err != nil {
		t.Fatal(err)
	}
	in := s.waitInteraction("ani = $1 and dnis = '+15550100'", "+14155550101")
	if in.Outcome != "abandoned" || in.Queue != "support" || in.Queued == nil || in.Ended == nil || in.AgentID != nil || in.Answered != nil {
		t.Fatalf("interaction = %+v, want abandoned in support after queueing, no agent", in)
	}
	if in.TicketID == nil {
		t.Error("abandoned call has no ticket (crm.ticket_abandoned is on in the demo config)")
	}
	// The agent becomes ready after the caller left: nobody is offered.
	desk.command("presence.set", map[string]string{"presence": "ready"})
	select {
	case <-phone.Inbound:
		t.Fatal("an agent was rung after the caller hung up")
	case <-time.After(2 * time.Second):
	}
}

// TestShutdownRecordsCallsInProgress: the server is stopped while a
// caller talks to an agent; the call is hung up and its interaction (agent,
// answer, end, the wrap-up closed by the shutdown) still reaches
// PostgreSQL before the server exits.
func TestShutdownRecordsCallsInProgress(t *testing.T) {
	s := startSystem(t, openAllDay, nil)
	desk, phone, bobID := s.agent("bob", true)
	desk.command("presence.set", map[string]string{"presence": "ready"})
	caller := s.sipp("caller_support.xml", "Liam Johnson", "+14155550101", "+15550100")
	offer := desk.waitFor(45*time.Second, func(e envelope) bool { return e.Type == "call.offered" })
	var call struct {
		CallID string `json:"call_id"`
	}
	json.Unmarshal(offer.Data, &call)
	select {
	case <-phone.Inbound:
	case <-time.After(30 * time.Second):
		t.Fatal("agent phone never rang")
	}
	desk.waitFor(10*time.Second, func(e envelope) bool { return e.Type == "call.answered" })
	s.stop()
	<-caller // SIPp sees the server's BYE where it expected to send one: not the point here
	in := s.waitInteraction("call_id = $1", call.CallID)
	if in.Outcome != "answered" || str(in.AgentID) != bobID || in.Answered == nil || in.Ended == nil {
		t.Fatalf("interaction = %+v, want answered by bob with answer and end times", in)
	}

	// The next server's live statistics start from the last hour's
	// records: the supervisors' view of the queue counts the call.
	s2 := startSystem(t, openAllDay, func(c *Config) {
		c.Database.URL, c.Database.DataDir = s.cfg.Database.URL, s.cfg.Database.DataDir
	})
	token, _ := s2.login("sam", "demo")
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		sup := s2.connectCTI(token)
		snap := sup.waitFor(5*time.Second, func(e envelope) bool { return e.Type == "sup.snapshot" })
		sup.conn.Close()
		var feed struct {
			Queues []struct {
				Queue  string
				Erlang struct{ Calls int }
			}
		}
		if err := json.Unmarshal(snap.Data, &feed); err != nil {
			t.Fatal(err)
		}
		calls := -1
		for _, q := range feed.Queues {
			if q.Queue == "support" {
				calls = q.Erlang.Calls
			}
		}
		if calls == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart the support queue counts %d calls, want the 1 of the last hour", calls)
		}
	}
}

// TestJourneyMissedOfferReoffered: the first agent's phone does not take the
// call; it is offered to the second agent, and the first goes not-ready
// "missed" after the configured number of misses (1 here).
func TestJourneyMissedOfferReoffered(t *testing.T) {
	s := startSystem(t, openAllDay, func(c *Config) { c.ACD.MissedOffers = 1 })
	bobDesk, bobPhone, bobID := s.agent("bob", false)
	graceDesk, gracePhone, graceID := s.agent("grace", true)
	bobDesk.command("presence.set", map[string]string{"presence": "ready"})
	time.Sleep(200 * time.Millisecond) // bob has been idle longest: offered first
	graceDesk.command("presence.set", map[string]string{"presence": "ready"})

	caller := s.sipp("caller_support.xml", "Liam Johnson", "+14155550101", "+15550100")
	first := bobDesk.waitFor(45*time.Second, func(e envelope) bool { return e.Type == "call.offered" })
	bobDesk.waitFor(15*time.Second, func(e envelope) bool {
		return e.Type == "agent.state" && strings.Contains(string(e.Data), `"presence":"not-ready"`) && strings.Contains(string(e.Data), "missed")
	})
	second := graceDesk.waitFor(15*time.Second, func(e envelope) bool { return e.Type == "call.offered" })
	var a, b struct {
		CallID string `json:"call_id"`
	}
	json.Unmarshal(first.Data, &a)
	json.Unmarshal(second.Data, &b)
	if a.CallID == "" || a.CallID != b.CallID {
		t.Fatalf("re-offer of a different call: %s then %s", first.Data, second.Data)
	}
	select {
	case <-gracePhone.Inbound:
	case <-time.After(15 * time.Second):
		t.Fatal("second agent's phone never rang")
	}
	if err := <-caller; err != nil {
		t.Fatal(err)
	}
	graceDesk.waitFor(10*time.Second, func(e envelope) bool { return e.Type == "wrapup.started" })
	graceDesk.command("wrapup.submit", map[string]any{"call_id": b.CallID, "disposition": "resolved"})
	in := s.waitInteraction("call_id = $1", b.CallID)
	if in.Outcome != "answered" || str(in.AgentID) != graceID {
		t.Errorf("interaction outcome %s agent %s, want answered by grace %s (not bob %s)", in.Outcome, str(in.AgentID), graceID, bobID)
	}
	select {
	case c := <-bobPhone.Inbound:
		t.Errorf("bob's refusing phone answered a call: %+v", c)
	default:
	}
}

// TestJourneyAfterHoursVoicemail: out of hours the caller leaves a voicemail,
// which becomes a ticket with the recording attached.
func TestJourneyAfterHoursVoicemail(t *testing.T) {
	s := startSystem(t, closedToday(), nil)
	caller := s.sipp("caller_voicemail.xml", "Liam Johnson", "+14155550101", "+15550100")
	if err := <-caller; err != nil {
		t.Fatal(err)
	}
	in := s.waitInteraction("ani = $1 and dnis = '+15550100'", "+14155550101")
	if in.Outcome != "voicemail" || in.TicketID == nil {
		t.Fatalf("interaction = %+v, want a voicemail with a ticket", in)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var recording, description string
	var tags []string
	if err := conn.QueryRow(ctx, `select i.recording, t.description, t.tags from interactions i join tickets t on t.id = i.ticket_id where i.id = $1`, in.ID).
		Scan(&recording, &description, &tags); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(recording)
	if err != nil || st.Size() < 8000 {
		t.Fatalf("recording %q: %v (size %v), want a WAV with audio", recording, err, st)
	}
	if !strings.Contains(description, recording) || !strings.Contains(strings.Join(tags, ","), "voicemail") {
		t.Errorf("ticket description %q tags %v, want the recording and the voicemail tag", description, tags)
	}
}

// TestJourneyDatabaseRestartMidBurst: PostgreSQL restarts in the middle of a
// burst of calls; every call's interaction still lands.
func TestJourneyDatabaseRestartMidBurst(t *testing.T) {
	s := startSystem(t, openAllDay, nil)
	const calls = 12
	bin := siptest.RequireProgram(t, "sipp", "sip-tester")
	dir := t.TempDir()
	cmd := exec.Command(bin, "-sn", "uac", "-s", "+15550100", "-m", strconv.Itoa(calls), "-r", "3", "-l", "20", "-d", "2500",
		"-i", "127.0.0.1", "-p", strconv.Itoa(freePort(t, "udp")), "-mi", "127.0.0.1", "-mp", strconv.Itoa(sippMediaPort(t)),
		"-nostdin", "-timeout", "60s", "-timeout_error", s.sip.String())
	cmd.Dir = dir
	done := make(chan error, 1)
	var out []byte
	go func() { var err error; out, err = cmd.CombinedOutput(); done <- err }()

	cluster := pgtest.Cluster(t)
	time.Sleep(2 * time.Second)
	if err := cluster.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second)
	if err := cluster.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("sipp: %v\n%s", err, tail(out, 20))
	}
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, s.dsn)
		var n int
		if err == nil {
			err = conn.QueryRow(ctx, `select count(*) from interactions where dnis = '+15550100' and ani = 'sipp' and outcome <> 'in-progress'`).Scan(&n)
			conn.Close(ctx)
		}
		if err == nil && n == calls {
			return
		}
		if n > calls {
			t.Fatalf("%d interactions for %d calls", n, calls)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d interactions landed (last error %v)", n, calls, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestJourneyCallback: the caller asks for a callback in the IVR and hangs
// up; when an agent is free the agent's phone is rung first, then the
// customer is dialled through the trunk and the two are bridged.
func TestJourneyCallback(t *testing.T) {
	customer := siptest.NewPhone(t, "customer")
	pcmu := media.PCMU
	customer.AnswerWith(&pcmu)
	s := startSystem(t, openAllDay, func(c *Config) { c.SIP.Trunk = customer.Addr().String() })
	desk, phone, heidiID := s.agent("heidi", true)

	caller := s.sipp("caller_callback.xml", "Liam Johnson", "+14155550101", "+15550100")
	if err := <-caller; err != nil {
		t.Fatal(err)
	}
	// The caller is gone; the callback waits for an agent.
	desk.command("presence.set", map[string]string{"presence": "ready"})
	agentLeg, custLeg := callBack(t, phone, customer)
	// Audio both ways between agent and customer.
	for _, leg := range []*siptest.Call{agentLeg, custLeg} {
		go func(c *siptest.Call) {
			frame := make([]int16, 160)
			for i := range frame {
				frame[i] = 9000
			}
			for n := 0; n < 100; n++ {
				select {
				case <-c.Done():
					return
				case <-time.After(20 * time.Millisecond):
				}
				_ = c.Session().WriteFrame(frame)
			}
		}(leg)
	}
	time.Sleep(2500 * time.Millisecond)
	for name, leg := range map[string]*siptest.Call{"agent": agentLeg, "customer": custLeg} {
		loud := 0
		for _, v := range leg.Samples() {
			if v > 4000 {
				loud++
			}
		}
		if loud < 800 {
			t.Errorf("%s heard %d loud samples from the other side, want ≥ 800", name, loud)
		}
	}
	endCallback(t, desk, custLeg)
	in := s.waitInteraction("ani = $1 and dnis = '+15550100'", "+14155550101")
	if str(in.AgentID) != heidiID || in.Queue != "sales" || in.Answered == nil || str(in.Disposition) != "sale" {
		t.Errorf("interaction = %+v (agent %s disposition %s), want the sales callback answered by heidi", in, str(in.AgentID), str(in.Disposition))
	}
}

// TestJourneyWebRTCSoftphoneAgent is the journey with the agent on the
// browser softphone: headless Chromium logs in on the desktop page, its
// softphone connects over WebRTC, the SIPp caller's screen pop appears,
// the agent answers in the page and audio flows both ways (the caller echoes
// the browser's fake microphone back to it), then wraps up in the page.
func TestJourneyWebRTCSoftphoneAgent(t *testing.T) {
	s := startSystem(t, openAllDay, func(c *Config) { c.SIP.WebRTCIPs = []string{"127.0.0.1"} })
	// The support queue has a call script; the desk shows it filled from
	// the pop and saves its answers on the interaction.
	sup, _ := s.login("sam", "demo")
	if code, body := s.rest("POST", "/api/v1/scripts", sup, map[string]any{"name": "Support", "queues": []string{"support"},
		"steps": []map[string]any{
			{"id": "greet", "text": "Hello {{contact.name}}, this is {{agent.name}}.", "next": "topic"},
			{"id": "topic", "text": "What can I do for you?", "question": map[string]any{"kind": "choice", "label": "Topic",
				"choices": []map[string]any{{"value": "broken", "next": "model"}, {"value": "other"}}}},
			{"id": "model", "text": "Which model is it?", "question": map[string]any{"kind": "text", "label": "Model"}},
		}}); code != http.StatusCreated {
		t.Fatalf("create script: %d %s", code, body)
	}
	// A knowledge article about the support line is suggested in the pop.
	if code, body := s.rest("POST", "/api/v1/knowledge/articles", sup, map[string]any{"title": "Support line: first checks",
		"body_markdown": "Before a support call goes further, check the **support** contract.", "language": "en"}); code != http.StatusCreated {
		t.Fatalf("create article: %d %s", code, body)
	}
	desk := softphoneDesk(t, s.http, "bob")

	caller := s.sipp("caller_support.xml", "Liam Johnson", "+14155550101", "+15550100", "-rtp_echo")
	c, cancel := context.WithTimeout(desk, 45*time.Second)
	defer cancel()
	if _, err := chromedp.Run(c, chromedp.Poll[bool](`document.getElementById('cust-name').textContent === 'Liam Johnson'`, chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		t.Fatalf("customer card never showed Liam Johnson: %v", err)
	}
	agentdesktest.Poll(t, desk, "article suggested in the pop",
		`[...document.querySelectorAll('#pop-articles a')].some(a => a.textContent === 'Support line: first checks')`)
	agentdesktest.Step(t, desk, "answer", chromedp.Click(chromedp.CSS("#btn-answer")))
	agentdesktest.Poll(t, desk, "talking", `document.getElementById('call-status').textContent.startsWith('Talking')`)
	agentdesktest.Poll(t, desk, "script filled from the pop",
		`document.getElementById('script-text').textContent === 'Hello Liam Johnson, this is Bob Jones.'`)
	agentdesktest.Step(t, desk, "answer the script",
		chromedp.Click(chromedp.CSS("#script-next")),
		chromedp.SetValue(chromedp.CSS("#script-answer"), "broken"),
		chromedp.Click(chromedp.CSS("#script-next")),
		chromedp.SendKeys(chromedp.CSS("#script-answer"), "X-200 <b>"),
		chromedp.Click(chromedp.CSS("#script-next")))
	agentdesktest.Poll(t, desk, "end of the script", `document.getElementById('script-title').textContent === 'End of script'`)
	time.Sleep(time.Second)
	got, err := chromedp.Run(desk, chromedp.Evaluate[float64](`(async () => {
		const st = await window.switchboard.phone.pc.getStats();
		let n = 0; st.forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'audio') n += r.totalAudioEnergy || 0; });
		return n; })()`, chromedp.EvalAwaitPromise))
	if err != nil || got <= 0 {
		t.Errorf("browser received no audio energy back from the caller (%v, %v)", got, err)
	}
	if err := <-caller; err != nil {
		t.Fatal(err)
	}
	agentdesktest.Poll(t, desk, "wrap-up form", `!document.getElementById('wrap-submit').disabled && document.getElementById('wrap-submit').offsetParent !== null`)
	// The wrap-up also schedules a callback to the caller, offered to bob
	// first: the number and the time the form proposes.
	agentdesktest.Step(t, desk, "wrap up",
		chromedp.Evaluate[chromedp.Void](`(() => { document.getElementById('disposition').value = 'resolved'; })()`),
		chromedp.SendKeys(chromedp.CSS("#notes"), "Sorted in the browser."),
		chromedp.Click(chromedp.CSS("#cb-on")),
		chromedp.Click(chromedp.CSS("#wrap-submit")))
	bobToken, bobID := s.login("bob", "demo")
	in := s.waitInteraction("ani = $1 and dnis = '+15550100'", "+14155550101")
	if in.Outcome != "answered" || str(in.AgentID) != bobID || str(in.Disposition) != "resolved" || str(in.Notes) != "Sorted in the browser." {
		t.Errorf("interaction = outcome %s agent %s disposition %q notes %q, want answered by bob with the page's wrap-up",
			in.Outcome, str(in.AgentID), str(in.Disposition), str(in.Notes))
	}
	code, body := s.rest("GET", "/api/v1/callbacks?state=scheduled&agent=me", bobToken, nil)
	var cbs struct{ Items []crmcore.Callback }
	if err := json.Unmarshal(body, &cbs); err != nil || code != 200 || len(cbs.Items) != 1 {
		t.Fatalf("bob's scheduled callbacks: %d %s", code, body)
	}
	if cb := cbs.Items[0]; cb.Number != "+14155550101" || cb.Queue != "support" || cb.Note != "Sorted in the browser." ||
		cb.DueAt.Before(time.Now().Add(50*time.Minute)) || cb.ContactID == "" {
		t.Errorf("callback from the wrap-up = %+v, want the caller's number in support an hour ahead, for their contact", cb)
	}
	conn, err := pgx.Connect(context.Background(), s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var path []string
	var answers string
	if err := conn.QueryRow(context.Background(), `select path, answers::text from script_answers where interaction_id = $1 and agent_id = $2`,
		in.ID, bobID).Scan(&path, &answers); err != nil {
		t.Fatalf("script answers on the interaction: %v", err)
	}
	if strings.Join(path, " ") != "greet topic model" || !strings.Contains(answers, `"value": "X-200 <b>"`) {
		t.Errorf("script answers = path %q answers %s, want greet topic model with the model typed", path, answers)
	}
}

// softphoneDesk opens the agent desktop at httpAddr in headless Chromium,
// logs login in (password "demo"), waits for the browser softphone to
// connect and goes ready.
func softphoneDesk(t *testing.T, httpAddr, login string) context.Context {
	t.Helper()
	desk := agentdesktest.NewTab(t, agentdesktest.NewBrowser(t))
	agentdesktest.Step(t, desk, "log in",
		chromedp.Navigate("http://"+httpAddr+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), login),
		chromedp.SendKeys(chromedp.CSS("#password"), "demo"),
		chromedp.Click(chromedp.CSS("#login-btn")),
		chromedp.WaitVisible(chromedp.CSS("#desk")))
	agentdesktest.Poll(t, desk, "softphone connected", `document.getElementById('sp-state').textContent === 'connected'`)
	agentdesktest.Step(t, desk, "go ready", chromedp.Evaluate[chromedp.Void](
		`(() => { const s = document.getElementById('presence'); s.value = 'ready'; s.dispatchEvent(new Event('change')); })()`))
	agentdesktest.Poll(t, desk, "ready", `document.getElementById('state-badge').textContent === 'ready'`)
	return desk
}

// TestLiveSimulation runs `simulate --live` against a server for a few
// seconds: simulated callers reach simulated agents over SIP, the agents
// wrap up over CTI, and the interactions land in PostgreSQL.
func TestLiveSimulation(t *testing.T) {
	s := startSystem(t, openAllDay, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 35*time.Second)
	defer cancel()
	st, err := livesim.Run(ctx, livesim.Options{
		HTTP: s.http, SIP: s.sip.String(), Local: fmt.Sprintf("127.0.0.1:%d", freePort(t, "udp")),
		DNIS: []string{"+15550100"}, Agents: []string{"alice", "bob", "carol", "erin", "heidi"}, Password: "demo",
		Rate: 60, Talk: 3 * time.Second, Patience: 60 * time.Second, Prompts: "../../ivr/prompts", Seed: 1,
		SMTP: s.cfg.Mail.SMTP, EmailRate: 30, EmailTo: []string{"support@example.com", "billing@example.com"},
	}, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	if err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
	if st.Calls.Load() < 5 || st.Answered.Load() < 1 || st.WrapUps.Load() < 1 {
		t.Fatalf("simulation placed %d calls, %d answered, %d wrap-ups; want traffic end to end", st.Calls.Load(), st.Answered.Load(), st.WrapUps.Load())
	}
	if st.Emails.Load() < 3 || st.EmailReplies.Load() < 1 {
		t.Fatalf("simulation sent %d emails, answered %d; want email end to end", st.Emails.Load(), st.EmailReplies.Load())
	}
	in := s.waitInteraction("dnis = '+15550100' and outcome = 'answered' and disposition <> ''")
	if in.AgentID == nil || in.Answered == nil {
		t.Errorf("simulated interaction = %+v, want an answered call with its agent", in)
	}
}

// TestLiveSimulationSIPp runs `simulate --live --sipp` (the load test's
// traffic) for a few seconds: SIPp callers press 1 by SIP INFO and talk
// over RTP from their own ports, simulated agents answer and wrap up, and
// the report finds an interaction record for every call SIPp placed. The
// window is long enough for the first calls to be wrapped up within it.
func TestLiveSimulationSIPp(t *testing.T) {
	siptest.RequireProgram(t, "sipp", "sip-tester")
	s := startSystem(t, openAllDay, nil)
	var report bytes.Buffer
	st, err := livesim.Run(t.Context(), livesim.Options{
		HTTP: s.http, SIP: s.sip.String(), Local: fmt.Sprintf("127.0.0.1:%d", freePort(t, "udp")),
		DNIS: []string{"+15550100"}, Agents: []string{"alice", "bob", "carol", "erin", "heidi"}, Password: "demo",
		Rate: 60, Talk: 2 * time.Second, Duration: 10 * time.Second, Prompts: "../../ivr/prompts", Seed: 1,
		SIPp: true, SIPpPort: freePort(t, "udp"), Report: &report,
	}, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	t.Logf("report:\n%s", report.String())
	if err != nil {
		t.Fatal(err)
	}
	if st.Calls.Load() < 5 || st.Failed.Load() != 0 || st.Answered.Load() < 1 || st.WrapUps.Load() < 1 {
		t.Fatalf("SIPp placed %d calls (%d failed), %d answered, %d wrap-ups; want traffic end to end and no failure",
			st.Calls.Load(), st.Failed.Load(), st.Answered.Load(), st.WrapUps.Load())
	}
	if !strings.Contains(report.String(), "every call has its interaction record") {
		t.Errorf("report does not confirm an interaction record per call:\n%s", report.String())
	}
	// VIP contacts skip the menu; the others press 1 for sales.
	in := s.waitInteraction("dnis = '+15550100' and outcome = 'answered' and disposition <> '' and queue = 'sales'")
	var digits []string
	for _, st := range in.IVRPath {
		digits = append(digits, st.Digits)
	}
	if in.AgentID == nil || in.Answered == nil || in.Queue != "sales" || strings.Join(digits, "") != "1" {
		t.Errorf("SIPp interaction = %+v, want answered in sales by an agent after the digit 1 (sent by SIP INFO)", in)
	}
}

// TestJourneyMusicOnHold: a caller waiting in queue hears the position
// announcement and then music on hold, not silence, and the music stops
// when an agent is offered the call.
func TestJourneyMusicOnHold(t *testing.T) {
	s := startSystem(t, openAllDay, func(c *Config) {
		for i := range c.ACD.Queues {
			c.ACD.Queues[i].Announce = acd.Duration(3 * time.Second)
		}
	})
	caller := siptest.NewPhone(t, "+14155550101")
	call, err := caller.Invite(t.Context(), s.sip, "+15550100", media.PCMU)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // welcome, then the main menu
	if err := call.Session().SendDigit(t.Context(), '1'); err != nil {
		t.Fatal(err)
	}
	time.Sleep(6 * time.Second) // "please hold", then waiting in the sales queue
	mark := len(call.Samples())
	time.Sleep(4 * time.Second)
	waiting := call.Samples()[mark:]
	loud := 0
	for _, v := range waiting {
		if v > 1000 || v < -1000 {
			loud++
		}
	}
	if len(waiting) < 8000*3 || loud < 2000 {
		t.Fatalf("caller heard %d samples (%d loud) in 4 s of waiting; want announcements and music on hold", len(waiting), loud)
	}
	_ = call.Hangup(t.Context())
	in := s.waitInteraction("ani = $1 and dnis = '+15550100'", "+14155550101")
	if in.Queue != "sales" || in.Outcome != "abandoned" {
		t.Errorf("interaction queue %q outcome %q, want an abandoned sales call", in.Queue, in.Outcome)
	}
}

// TestJourneyPostCallSurvey: the agent hangs up first; the caller, still on
// the line, answers the post-call survey by DTMF, and the CSAT score lands on
// the call's interaction.
func TestJourneyPostCallSurvey(t *testing.T) {
	s := startSystem(t, openAllDay, nil)
	desk, phone, _ := s.agent("heidi", true)
	desk.command("presence.set", map[string]string{"presence": "ready"})
	caller := siptest.NewPhone(t, "+14155550101")
	call, err := caller.Invite(t.Context(), s.sip, "+15550100", media.PCMU)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // welcome, then the main menu: 1 for sales
	if err := call.Session().SendDigit(t.Context(), '1'); err != nil {
		t.Fatal(err)
	}
	select {
	case <-phone.Inbound:
	case <-time.After(30 * time.Second):
		t.Fatal("agent never rang")
	}
	ans := desk.waitFor(10*time.Second, func(e envelope) bool { return e.Type == "call.answered" })
	var a struct {
		CallID string `json:"call_id"`
	}
	json.Unmarshal(ans.Data, &a)
	time.Sleep(time.Second)
	desk.command("call.hangup", map[string]string{"call_id": a.CallID})

	time.Sleep(3500 * time.Millisecond) // survey intro, then "how satisfied… 1 to 5"
	if err := call.Session().SendDigit(t.Context(), '4'); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // "how likely… 0 to 10"
	if err := call.Session().SendDigit(t.Context(), '9'); err != nil {
		t.Fatal(err)
	}
	select {
	case <-call.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the survey never hung up")
	}
	desk.command("wrapup.submit", map[string]any{"call_id": a.CallID, "disposition": "sale"})
	in := s.waitInteraction("call_id = $1 and survey_score is not null", a.CallID)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var score int
	if err := conn.QueryRow(ctx, `select survey_score from interactions where id = $1`, in.ID).Scan(&score); err != nil || score != 4 {
		t.Errorf("survey score = %d (%v), want the CSAT answer 4", score, err)
	}
}

// TestLiveSimulationSIPpFails: when SIPp cannot start its callers (here
// its SIP port is taken), simulate fails with SIPp's reason instead of
// reporting an empty window as a result.
func TestLiveSimulationSIPpFails(t *testing.T) {
	siptest.RequireProgram(t, "sipp", "sip-tester")
	s := startSystem(t, openAllDay, nil)
	taken, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	var report bytes.Buffer
	_, err = livesim.Run(t.Context(), livesim.Options{
		HTTP: s.http, SIP: s.sip.String(), Local: fmt.Sprintf("127.0.0.1:%d", freePort(t, "udp")),
		DNIS: []string{"+15550100"}, Agents: []string{"alice"}, Password: "demo",
		Rate: 60, Talk: 2 * time.Second, Duration: 20 * time.Second, Prompts: "../../ivr/prompts", Seed: 1,
		SIPp: true, SIPpPort: taken.LocalAddr().(*net.UDPAddr).Port, Report: &report,
	}, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	if err == nil || !strings.Contains(err.Error(), "binding a socket") || !strings.Contains(err.Error(), "Unable to bind main socket") {
		t.Fatalf("simulate with SIPp's port taken: err = %v; want SIPp's bind failure", err)
	}
	if report.Len() > 0 {
		t.Errorf("a report was printed for a run that never started:\n%s", report.String())
	}
}
