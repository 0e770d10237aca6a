package sip

import (
	"errors"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/google/go-cmp/cmp"

	"switchboard/sip/media"
	"switchboard/sip/siptest"
)

func TestParsePath(t *testing.T) {
	long := "<sip:edge.example;lr;x=" + strings.Repeat("a", maxPathURILen) + ">"
	many := strings.TrimSuffix(strings.Repeat("<sip:p.example;lr>,", maxPathURIs+1), ",")
	half := strings.TrimSuffix(strings.Repeat("<sip:p.example;lr>,", maxPathURIs/2+1), ",")
	for _, tc := range []struct {
		name   string
		values []string
		want   []string
		bad    bool
	}{
		{name: "none", values: nil, want: nil},
		{name: "kamailio", values: []string{"<sip:127.0.0.1:5060;lr;received=sip:192.0.2.7:40000>"},
			want: []string{"sip:127.0.0.1:5060;lr;received=sip:192.0.2.7:40000"}},
		{name: "comma separated, then another header",
			values: []string{`<sip:p1.example;lr>, "Edge, outer" <sips:p2.example:5061;lr>;x="a,b"`, "<sip:p3.example;lr>"},
			want:   []string{"sip:p1.example;lr", "sips:p2.example:5061;lr", "sip:p3.example;lr"}},
		{name: "upper-case scheme", values: []string{"<SIP:p.example;lr>"}, want: []string{"sip:p.example;lr"}},
		{name: "exactly the cap", values: []string{strings.TrimSuffix(strings.Repeat("<sip:p.example;lr>,", maxPathURIs), ",")},
			want: strings.Split(strings.TrimSuffix(strings.Repeat("sip:p.example;lr,", maxPathURIs), ","), ",")},
		{name: "too many", values: []string{many}, bad: true},
		{name: "too many across headers", values: []string{half, half}, bad: true},
		{name: "too long", values: []string{long}, bad: true},
		{name: "tel uri", values: []string{"<tel:+15550100>"}, bad: true},
		{name: "http uri", values: []string{"<http://p.example/>"}, bad: true},
		{name: "bare addr-spec", values: []string{"sip:p.example;lr"}, bad: true},
		{name: "empty", values: []string{""}, bad: true},
		{name: "empty entry", values: []string{"<sip:p.example;lr>,"}, bad: true},
		{name: "unclosed", values: []string{"<sip:p.example;lr"}, bad: true},
		{name: "no host", values: []string{"<sip:;lr>"}, bad: true},
		{name: "space in uri", values: []string{"<sip:p.example ;lr>"}, bad: true},
		{name: "quote in uri", values: []string{`<sip:p.example;received="sip:a;b">`}, bad: true},
		{name: "control character", values: []string{"<sip:p.example\x00;lr>"}, bad: true},
		{name: "unterminated display name", values: []string{`"Edge <sip:p.example;lr>`}, bad: true},
		{name: "two name-addrs without comma", values: []string{"<sip:a.example><sip:b.example>"}, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePath(tc.values)
			if tc.bad {
				if !errors.Is(err, errBadPath) {
					t.Fatalf("parsePath(%q) = %v, %v; want errBadPath", tc.values, got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, pathStrings(got)); diff != "" {
				t.Errorf("path (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzParsePath: any Path value is parsed without panic into at most
// maxPathURIs SIP URIs, and the stored form of what it accepted parses
// back to the same URIs (the registrar stores pathStrings and rings with
// parseStoredPath).
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"<sip:127.0.0.1:5060;lr;received=sip:192.0.2.7:40000>", `"a" <sips:b;lr>;x="y,z", <sip:c>`,
		"<sip:a?h=v>", "<sip:[::1]:5060;lr>", "<tel:1>", "<sip:a", `"`, ",", "<>"} {
		f.Add(s, "<sip:second.example;lr>")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		got, err := parsePath([]string{a, b})
		if err != nil {
			return
		}
		if len(got) > maxPathURIs {
			t.Fatalf("%d entries", len(got))
		}
		stored := pathStrings(got)
		back, err := parseStoredPath(stored)
		if err != nil {
			t.Fatalf("stored %q does not parse: %v", stored, err)
		}
		if diff := cmp.Diff(stored, pathStrings(back)); diff != "" {
			t.Fatalf("stored form unstable (-first +second):\n%s", diff)
		}
		for _, s := range stored {
			if strings.ContainsAny(s, "\r\n\x00<>") {
				t.Fatalf("stored %q", s)
			}
		}
	})
}

// registerRaw sends a REGISTER for alice from ua with the extra headers,
// answers the challenge and returns the final response.
func registerRaw(t *testing.T, g *Gateway, ua *rawUA, callID string, extra ...sipmsg.Header) *sipmsg.Response {
	t.Helper()
	ruri := gwRegisterURI(g)
	build := func() *sipmsg.Request {
		req := ua.request(sipmsg.REGISTER, ruri, "alice", callID)
		req.AppendHeader(sipmsg.NewHeader("Expires", "600"))
		for _, h := range extra {
			req.AppendHeader(h)
		}
		return req
	}
	res := ua.do(g.UDPAddr(), build())
	if res.StatusCode != 401 {
		return res
	}
	req := build()
	authorize(t, req, res, "SHA-256", ruri.String(), "alice", "s3cret", 1)
	return ua.do(g.UDPAddr(), req)
}

func headerValues(m sipmsg.Message, name string) []string {
	var out []string
	for _, h := range m.GetHeaders(name) {
		out = append(out, h.Value())
	}
	return out
}

// TestRegisterPath: the Path of a REGISTER (several headers, comma
// separated values) is stored in order with the binding and echoed in the
// 200 only to a UA that said Supported: path; a REGISTER with a malformed
// or hostile Path is refused with 400 and changes nothing.
func TestRegisterPath(t *testing.T) {
	g := startGateway(t, Config{})
	ua := newRawUA(t, "127.0.0.1")
	edge := "sip:127.0.0.1:5060;lr;received=sip:192.0.2.7:40000"
	path := []sipmsg.Header{
		sipmsg.NewHeader("Path", "<"+edge+">, <sip:p2.example;lr>"),
		sipmsg.NewHeader("Path", "<sip:p3.example;lr>"),
	}
	wantPath := []string{edge, "sip:p2.example;lr", "sip:p3.example;lr"}

	res := registerRaw(t, g, ua, "path-1", append(path, sipmsg.NewHeader("Supported", "timer, path"))...)
	if res.StatusCode != 200 {
		t.Fatalf("REGISTER with Path → %d %s", res.StatusCode, res.Reason)
	}
	wantEcho := []string{"<" + edge + ">", "<sip:p2.example;lr>", "<sip:p3.example;lr>"}
	if diff := cmp.Diff(wantEcho, headerValues(res, "Path")); diff != "" {
		t.Errorf("Path in the 200 (-want +got):\n%s", diff)
	}
	bs := bindingsOf(t, g, "alice")
	if len(bs) != 1 {
		t.Fatalf("%d bindings, want 1", len(bs))
	}
	if diff := cmp.Diff(wantPath, pathStrings(bs[0].Path)); diff != "" {
		t.Errorf("binding's Path (-want +got):\n%s", diff)
	}

	// Without Supported: path the Path is kept but not echoed.
	res = registerRaw(t, g, ua, "path-2", path...)
	if res.StatusCode != 200 || len(res.GetHeaders("Path")) != 0 {
		t.Errorf("REGISTER without Supported: path → %d with Path %q, want 200 without", res.StatusCode, headerValues(res, "Path"))
	}
	if got := pathStrings(bindingsOf(t, g, "alice")[0].Path); !cmp.Equal(wantPath, got) {
		t.Errorf("binding's Path %q, want %q", got, wantPath)
	}

	for _, tc := range []struct{ name, value string }{
		{"malformed", "<sip:p.example;lr"},
		{"not sip", "<tel:+15550100>"},
		{"too long", "<sip:p.example;lr;x=" + strings.Repeat("a", maxPathURILen) + ">"},
		{"too many", strings.TrimSuffix(strings.Repeat("<sip:p.example;lr>,", maxPathURIs+1), ",")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := registerRaw(t, g, ua, "bad-"+strings.ReplaceAll(tc.name, " ", "-"), sipmsg.NewHeader("Path", tc.value))
			if res.StatusCode != 400 {
				t.Fatalf("REGISTER with Path %.40q → %d, want 400", tc.value, res.StatusCode)
			}
			if got := pathStrings(bindingsOf(t, g, "alice")[0].Path); !cmp.Equal(wantPath, got) {
				t.Errorf("binding's Path changed to %q", got)
			}
		})
	}

	// A REGISTER without Path replaces the binding's.
	if res := registerRaw(t, g, ua, "path-3"); res.StatusCode != 200 {
		t.Fatalf("REGISTER without Path → %d", res.StatusCode)
	}
	if got := bindingsOf(t, g, "alice")[0].Path; got != nil {
		t.Errorf("binding's Path %v after a REGISTER without, want none", got)
	}
}

// TestDialThroughPath: a binding registered with a Path is rung through
// it: the INVITE goes to the first Path URI, carries the Path as Route
// headers in order, and keeps the registered Contact as its Request-URI.
// The contact here is a socket that never answers, so only the Route
// reaches the phone; the call connects and the BYE reaches the phone.
func TestDialThroughPath(t *testing.T) {
	g := startGateway(t, Config{})
	phone := newPhone(t, "alice")
	pcmu := media.PCMU
	phone.AnswerWith(&pcmu)
	ua := newRawUA(t, "127.0.0.1") // its socket is the registered contact
	first := "sip:" + phone.Addr().String() + ";lr;received=sip:192.0.2.7:40000"
	second := "sip:p2.example;lr"
	res := registerRaw(t, g, ua, "dial-path", sipmsg.NewHeader("Path", "<"+first+">,<"+second+">"))
	if res.StatusCode != 200 {
		t.Fatalf("REGISTER → %d", res.StatusCode)
	}
	ctx := t.Context()
	c, err := g.Dial(ctx, "alice", DialOptions{Timeout: 5 * time.Second, CallerID: "+15550100"})
	if err != nil {
		t.Fatalf("dial through the Path: %v", err)
	}
	in := inbound(t, phone)
	inv := in.ServerDialog().InviteRequest
	if diff := cmp.Diff([]string{"<" + first + ">", "<" + second + ">"}, headerValues(inv, "Route")); diff != "" {
		t.Errorf("Route of the INVITE (-want +got):\n%s", diff)
	}
	if got, want := inv.Recipient.String(), "sip:alice@"+ua.addr().String(); got != want {
		t.Errorf("Request-URI %s, want the contact %s", got, want)
	}
	if got, want := inv.Source(), g.UDPAddr().String(); got != want {
		t.Errorf("INVITE from %s, want the gateway's listener %s", got, want)
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-in.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the phone did not get the BYE")
	}
}

func inbound(t *testing.T, p *siptest.Phone) *siptest.Call {
	t.Helper()
	select {
	case c := <-p.Inbound:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("the phone answered no call")
		return nil
	}
}

// TestDialWithoutPath: a binding registered without a Path is rung at its
// Contact, with no Route header.
func TestDialWithoutPath(t *testing.T) {
	g := startGateway(t, Config{})
	phone := newPhone(t, "alice")
	pcmu := media.PCMU
	phone.AnswerWith(&pcmu)
	if res := register(t, phone, g, "s3cret", 600); res.StatusCode != 200 {
		t.Fatalf("REGISTER → %d", res.StatusCode)
	}
	c, err := g.Dial(t.Context(), "alice", DialOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Hangup(t.Context())
	inv := inbound(t, phone).ServerDialog().InviteRequest
	if r := headerValues(inv, "Route"); len(r) != 0 {
		t.Errorf("Route %q on an INVITE to a binding without Path", r)
	}
	if got, want := inv.Recipient.String(), "sip:alice@"+phone.Addr().String(); got != want {
		t.Errorf("Request-URI %s, want %s", got, want)
	}
}
