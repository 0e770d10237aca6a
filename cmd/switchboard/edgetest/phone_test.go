package edgetest

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"switchboard/sip"
	"switchboard/sip/media"
	"switchboard/sip/siptest"
)

// creds is one SIP user and password in sip.DefaultRealm.
type creds struct{ user, password string }

func (c creds) SIPHA1(_ context.Context, u string) (sip.HA1, bool, error) {
	if u != c.user {
		return sip.HA1{}, false, nil
	}
	a1 := u + ":" + sip.DefaultRealm + ":" + c.password
	m, s := md5.Sum([]byte(a1)), sha256.Sum256([]byte(a1))
	return sip.HA1{MD5: hex.EncodeToString(m[:]), SHA256: hex.EncodeToString(s[:])}, true, nil
}

// startNode runs a Switchboard SIP gateway on 127.0.0.1 as a cluster node
// would, with alice's credentials.
func startNode(t *testing.T) *sip.Gateway {
	t.Helper()
	g, err := sip.New(sip.Config{UDPAddr: "127.0.0.1:0", PublicIP: "127.0.0.1"},
		sip.WithLogger(quiet), sip.WithMetrics(prometheus.NewRegistry()), sip.WithCredentials(creds{"alice", "s3cret"}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx) }()
	select {
	case <-g.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return g
}

// TestPhoneRegisteredThroughEdge: an agent's phone registers through
// Kamailio with a node, which authenticates it and stores its Contact, the
// phone's own address (Kamailio adds no Path); a node then rings the phone
// at that Contact, without the edge.
func TestPhoneRegisteredThroughEdge(t *testing.T) {
	node := startNode(t)
	k := StartKamailio(t, KamailioOptions{Nodes: []netip.AddrPort{node.UDPAddr()}})
	phone := siptest.NewPhone(t, "alice")
	pcmu := media.PCMU
	phone.AnswerWith(&pcmu)

	deadline := time.Now().Add(rotationWait)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
		res, err := phone.Register(ctx, k.Addr(), "s3cret", 300)
		cancel()
		if err == nil && res.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no registration through the edge within %v: %v %v", rotationWait, res, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
	defer cancel()
	bs, err := node.Registrar().Lookup(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	var contacts []string
	for _, b := range bs {
		contacts = append(contacts, b.Contact.String())
	}
	want := []string{"sip:alice@" + phone.Addr().String()}
	if diff := cmp.Diff(want, contacts); diff != "" {
		t.Fatalf("bindings (-want +got):\n%s", diff)
	}

	c, err := node.Dial(ctx, "alice", sip.DialOptions{Timeout: callTimeout, CallerID: "+15550100"})
	if err != nil {
		t.Fatalf("dial the phone: %v", err)
	}
	var in *siptest.Call
	select {
	case in = <-phone.Inbound:
	case <-ctx.Done():
		t.Fatal("the phone did not answer")
	}
	if diff := cmp.Diff("+15550100", in.From); diff != "" {
		t.Fatalf("caller at the phone (-want +got):\n%s", diff)
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-in.Done():
	case <-ctx.Done():
		t.Fatal("the phone did not get the BYE")
	}
}
