package sip

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRegisterFlood: 100,000 REGISTERs without credentials from one
// address do not keep another address from registering, and the state
// they leave is bounded (one source entry, no nonce state).
func TestRegisterFlood(t *testing.T) {
	g := startGateway(t, Config{})
	flood := newRawUA(t, "127.0.0.1")
	ruri := gwRegisterURI(g)
	const n = 100000
	// One message, its branch and Call-ID rewritten in place: every
	// REGISTER is a new transaction.
	msg := []byte(flood.request(sipmsg.REGISTER, ruri, "alice", "flood-000000").String())
	floodDone := make(chan struct{})
	go func() {
		defer close(floodDone)
		for i := range n {
			id := fmt.Appendf(nil, "flood-%06d", i)
			for off := 0; ; {
				j := strings.Index(string(msg[off:]), "flood-")
				if j < 0 {
					break
				}
				copy(msg[off+j:], id)
				off += j + len(id)
			}
			_, _ = flood.conn.WriteToUDPAddrPort(msg, g.UDPAddr())
		}
	}()
	ua := newRawUA(t, "127.0.0.2")
	req := ua.request(sipmsg.REGISTER, ruri, "alice", "legit")
	res := ua.do(g.UDPAddr(), req)
	req = ua.request(sipmsg.REGISTER, ruri, "alice", "legit")
	authorize(t, req, res, "SHA-256", ruri.String(), "alice", "s3cret", 1)
	if res := ua.do(g.UDPAddr(), req); res.StatusCode != 200 {
		t.Fatalf("REGISTER from another address during the flood → %d", res.StatusCode)
	}
	<-floodDone
	waitFor(t, "the flood to be refused", func() bool {
		return testutil.ToFloat64(g.Metrics().Refused.WithLabelValues("rate_limit")) > 0
	})
	if s := g.guard.len(); s > 2 {
		t.Errorf("%d sources tracked, want ≤ 2", s)
	}
	if s := g.auth.ncs.len(); s > 1 {
		t.Errorf("%d nonces tracked, want ≤ 1 (only successful authentications)", s)
	}
	if bs := bindingsOf(t, g, "alice"); len(bs) != 1 {
		t.Errorf("%d bindings, want 1", len(bs))
	}
}

// TestRegisterExpiryBounds: an interval below the minimum gets 423 with
// Min-Expires; one above the maximum is shortened to it.
func TestRegisterExpiryBounds(t *testing.T) {
	g := startGateway(t, Config{MinExpiry: 2 * time.Minute, MaxExpiry: 10 * time.Minute})
	ua := newRawUA(t, "127.0.0.1")
	ruri := gwRegisterURI(g)
	register := func(expires string) *sipmsg.Response {
		req := ua.request(sipmsg.REGISTER, ruri, "alice", "exp-"+expires)
		req.AppendHeader(sipmsg.NewHeader("Expires", expires))
		res := ua.do(g.UDPAddr(), req)
		req = ua.request(sipmsg.REGISTER, ruri, "alice", "exp-"+expires)
		req.AppendHeader(sipmsg.NewHeader("Expires", expires))
		authorize(t, req, res, "SHA-256", ruri.String(), "alice", "s3cret", 1)
		return ua.do(g.UDPAddr(), req)
	}
	res := register("60")
	if res.StatusCode != 423 || res.GetHeader("Min-Expires") == nil || res.GetHeader("Min-Expires").Value() != "120" {
		t.Fatalf("Expires 60 → %d %v, want 423 Min-Expires: 120", res.StatusCode, res.GetHeader("Min-Expires"))
	}
	res = register("3643")
	if res.StatusCode != 200 {
		t.Fatalf("Expires 3643 → %d", res.StatusCode)
	}
	c, ok := res.GetHeader("Contact").(*sipmsg.ContactHeader)
	if exp, _ := c.Params.Get("expires"); !ok || exp != "600" {
		t.Fatalf("granted expires=%s, want 600", exp)
	}
}

// TestRegistrationsSurviveRestart: bindings live in the BindingStore, so a
// new gateway over the same store (a restart, or another node) reaches the
// phone registered with the first.
func TestRegistrationsSurviveRestart(t *testing.T) {
	store := newMemBindings()
	ctx, cancel := context.WithCancel(context.Background())
	first, err := New(Config{UDPAddr: "127.0.0.1:0"}, WithLogger(quiet), WithCredentials(staticCreds{"alice": "s3cret"}), WithBindingStore(store))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- first.Serve(ctx) }()
	<-first.Ready()
	if res := register(t, newPhone(t, "alice"), first, "s3cret", 600); res.StatusCode != 200 {
		t.Fatalf("REGISTER → %d", res.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	second := startGateway(t, Config{}, WithBindingStore(store))
	if bs := bindingsOf(t, second, "alice"); len(bs) != 1 {
		t.Fatalf("after restart: %d bindings, want 1", len(bs))
	}
}

// errTestStore is a BindingStore whose every call fails.
type errTestStore struct{}

var errStoreDown = errors.New("store down")

func (errTestStore) Bindings(context.Context, string, time.Time) ([]StoredBinding, error) {
	return nil, errStoreDown
}
func (errTestStore) SetBindings(context.Context, string, []StoredBinding) error { return errStoreDown }
func (errTestStore) PurgeBindings(context.Context, time.Time) (int, error)      { return 0, errStoreDown }

type failingCreds struct{}

func (failingCreds) SIPHA1(context.Context, string) (HA1, bool, error) {
	return HA1{}, false, errStoreDown
}

// TestRegisterStoresDown: a credentials or bindings store that fails makes
// a temporary 503 with Retry-After (the phone tries again), not a 403 or
// a 500.
func TestRegisterStoresDown(t *testing.T) {
	for name, opt := range map[string]Option{
		"credentials": WithCredentials(failingCreds{}),
		"bindings":    WithBindingStore(errTestStore{}),
	} {
		t.Run(name, func(t *testing.T) {
			g := startGateway(t, Config{}, opt)
			ua := newRawUA(t, "127.0.0.1")
			ruri := gwRegisterURI(g)
			res := ua.do(g.UDPAddr(), ua.request(sipmsg.REGISTER, ruri, "alice", "down-"+name))
			req := ua.request(sipmsg.REGISTER, ruri, "alice", "down-"+name)
			authorize(t, req, res, "SHA-256", ruri.String(), "alice", "s3cret", 1)
			res = ua.do(g.UDPAddr(), req)
			if res.StatusCode != 503 || res.GetHeader("Retry-After") == nil {
				t.Fatalf("store down → %d %v, want 503 with Retry-After", res.StatusCode, res.GetHeader("Retry-After"))
			}
		})
	}
}

// TestSIPpRegisterDigest: SIPp, which reads only the first challenge and
// knows only MD5, registers with the default challenges.
func TestSIPpRegisterDigest(t *testing.T) {
	g := startGateway(t, Config{})
	runSIPp(t, g, "uac_register_auth.xml", "alice")
	if bs := bindingsOf(t, g, "alice"); len(bs) != 1 {
		t.Fatalf("%d bindings after SIPp registered, want 1", len(bs))
	}
}
