package edgetest

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
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

// TestPhoneRegisteredThroughEdge: an agent's phone behind NAT registers
// through Kamailio a Contact nobody reaches it at (a socket that never
// answers stands for its private address). The node authenticates it and
// stores the Contact with the Path Kamailio added (RFC 3327): the edge,
// with the phone's source address in its received parameter. The node
// then rings the phone through the edge, which sends the INVITE to that
// source address: it reaches the phone from Kamailio's address,
// record-routed; the call connects, and the BYE reaches the phone.
func TestPhoneRegisteredThroughEdge(t *testing.T) {
	node := startNode(t)
	k := StartKamailio(t, KamailioOptions{Nodes: []netip.AddrPort{node.UDPAddr()}})
	private, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer private.Close()
	pa := private.LocalAddr().(*net.UDPAddr).AddrPort()
	contact := sipmsg.Uri{Scheme: "sip", User: "alice", Host: pa.Addr().String(), Port: int(pa.Port())}
	phone := siptest.NewPhoneBehindNAT(t, "alice", contact)
	pcmu := media.PCMU
	phone.AnswerWith(&pcmu)

	deadline := time.Now().Add(rotationWait)
	var source string // where the REGISTER came from, as the edge saw it
	for {
		ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
		res, err := phone.Register(ctx, k.Addr(), "s3cret", 300)
		cancel()
		if err == nil && res.StatusCode == 200 {
			// The edge stamps the phone's Via (RFC 3581): received when
			// the address differs from the Via's host, rport always.
			host := res.Via().Host
			if h, ok := res.Via().Params.Get("received"); ok {
				host = h
			}
			port, _ := res.Via().Params.Get("rport")
			source = host + ":" + port
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
	type binding struct{ Contact, PathHost, Received string }
	var got []binding
	for _, b := range bs {
		g := binding{Contact: b.Contact.String()}
		if len(b.Path) != 1 {
			t.Fatalf("binding's Path %v, want the edge alone", b.Path)
		}
		g.PathHost = fmt.Sprintf("%s:%d", b.Path[0].Host, b.Path[0].Port)
		g.Received, _ = b.Path[0].UriParams.Get("received")
		got = append(got, g)
	}
	want := []binding{{Contact: contact.String(), PathHost: k.Addr().String(), Received: "sip:" + source}}
	if diff := cmp.Diff(want, got); diff != "" {
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
	inv := in.ServerDialog().InviteRequest
	if got, want := inv.Source(), k.Addr().String(); got != want {
		t.Errorf("the INVITE came from %s, want the edge %s", got, want)
	}
	if rr := inv.RecordRoute(); rr == nil || fmt.Sprintf("%s:%d", rr.Address.Host, rr.Address.Port) != k.Addr().String() {
		t.Errorf("Record-Route %v, want the edge %s", rr, k.Addr())
	}
	if r := inv.Route(); r != nil {
		t.Errorf("Route %v reached the phone, want the edge's entry taken off", r)
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
