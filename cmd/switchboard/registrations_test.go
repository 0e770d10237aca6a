package main

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"switchboard/crmcore"
	"switchboard/crmcore/pgcluster/pgtest"
	"switchboard/crmcore/pgstore"
	"switchboard/sip"
	"switchboard/sip/media"
	"switchboard/sip/siptest"
)

// TestRegistrationsInPostgres: a phone registers with the SIP password an
// admin set (stored only as HA1 hashes for the realm); a new gateway over
// the same database — a restart — still finds the binding and rings the
// phone.
func TestRegistrationsInPostgres(t *testing.T) {
	ctx := context.Background()
	const realm = "pbx.test"
	pool := migratedPool(t, pgtest.NewDatabase(t), pgstore.WithMigrateSIPRealm(realm))
	store := pgstore.New(pool, pgstore.WithSIPRealm(realm))
	a, err := crmcore.NewAgent(crmcore.AgentInput{Login: "alice", Password: "pw12345", SIPUsername: "alice", SIPSecret: "s3cret"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateAgent(ctx, a); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	start := func() (*sip.Gateway, func()) {
		g, err := sip.New(sip.Config{UDPAddr: "127.0.0.1:0", Realm: realm}, sip.WithLogger(quiet),
			sip.WithCredentials(sipCredentials{store}), sip.WithBindingStore(sipBindings{store}))
		if err != nil {
			t.Fatal(err)
		}
		gctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- g.Serve(gctx) }()
		<-g.Ready()
		return g, func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}

	first, stop := start()
	phone := siptest.NewPhone(t, "alice")
	pcmu := media.PCMU
	phone.AnswerWith(&pcmu)
	if res, err := phone.Register(ctx, first.UDPAddr(), "wrong", 600); err != nil || res.StatusCode != 401 {
		t.Fatalf("REGISTER with a wrong password: %v %v, want 401", res, err)
	}
	if res, err := phone.Register(ctx, first.UDPAddr(), "s3cret", 600); err != nil || res.StatusCode != 200 {
		t.Fatalf("REGISTER: %v %v", res, err)
	}
	stop()

	second, stop := start()
	defer stop()
	bs, err := second.Registrar().Lookup(ctx, "alice")
	if err != nil || len(bs) != 1 || bs[0].Contact.Port != int(phone.Addr().Port()) {
		t.Fatalf("bindings after restart: %+v, %v; want the phone's", bs, err)
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	leg, err := second.Dial(dctx, "alice", sip.DialOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("dial the phone registered before the restart: %v", err)
	}
	_ = leg.Hangup(ctx)

	// A binding's Path (RFC 3327: the edge it registered through) is kept
	// with it, in order.
	path := []string{"sip:192.0.2.1:5060;lr;received=sip:198.51.100.7:40000", "sip:192.0.2.2;lr"}
	b := sipBindings{store}
	if err := b.SetBindings(ctx, "alice", []sip.StoredBinding{{User: "alice", Contact: "sip:alice@10.0.0.5:5060",
		Expires: time.Now().Add(time.Hour), Path: path}}); err != nil {
		t.Fatal(err)
	}
	got, err := b.Bindings(ctx, "alice", time.Now())
	if err != nil || len(got) != 1 || !slices.Equal(got[0].Path, path) {
		t.Errorf("bindings with a Path: %+v, %v; want its Path %v", got, err, path)
	}
}
