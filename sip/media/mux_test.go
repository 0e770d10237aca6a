package media

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

func newMuxSet(t *testing.T, n int) *MuxSet {
	t.Helper()
	ms, err := NewMuxSet(netip.MustParseAddr("127.0.0.1"), 0, n, 16)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ms.Run() }()
	t.Cleanup(func() {
		ms.Close()
		if err := <-done; err != nil {
			t.Errorf("mux run: %v", err)
		}
	})
	return ms
}

// TestMuxBridge: two legs of a shared-socket set, bridged, relay audio
// (transcoded PCMU→PCMA) both ways between two ordinary sessions on
// dedicated ports, and the set's pacer batches playback.
func TestMuxBridge(t *testing.T) {
	ms := newMuxSet(t, 1)
	pool := newPool(t)
	tc, _ := pool.Allocate()
	ta, _ := pool.Allocate()
	la, err := ms.NewLeg(tc.LocalAddr())
	if err != nil {
		t.Fatal(err)
	}
	lb, err := ms.NewLeg(ta.LocalAddr())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ms.NewLeg(ta.LocalAddr()); !errors.Is(err, ErrRemoteInUse) {
		t.Errorf("duplicate remote on a one-socket set: %v", err)
	}
	_ = tc.SetRemote(la.LocalAddr())
	_ = ta.SetRemote(lb.LocalAddr())
	caller := NewSession(tc, SessionConfig{Codec: PCMU, DTMFPayloadType: 101})
	agent := NewSession(ta, SessionConfig{Codec: PCMA, DTMFPayloadType: 101})
	ga := NewSession(la, SessionConfig{Codec: PCMU, DTMFPayloadType: 101})
	gb := NewSession(lb, SessionConfig{Codec: PCMA, DTMFPayloadType: 101})
	ga.SetPeer(gb)
	gb.SetPeer(ga)
	atAgent := newCollector(agent)
	atCaller := newCollector(caller)
	ctx := t.Context()
	run(t, ctx, caller, agent, ga, gb)
	src := tone(5 * FrameSamples)
	if err := Play(ctx, caller, src, false, nil); err != nil {
		t.Fatal(err)
	}
	pacer := NewPacer(1, ms)
	if err := pacer.Play(ctx, agent, src, false, nil); err != nil {
		t.Fatal(err)
	}
	got := atAgent.waitSamples(t, len(src))
	for i := range src {
		if want := DecodeALaw(ULawToALaw(EncodeULaw(src[i]))); got[i] != want {
			t.Fatalf("agent sample %d = %d, want %d", i, got[i], want)
		}
	}
	atCaller.waitSamples(t, len(src))
	// A prompt played by the set's pacer straight into a mux leg.
	atCaller.reset()
	if err := pacer.Play(ctx, ga, src, false, nil); err != nil {
		t.Fatal(err)
	}
	if got := atCaller.waitSamples(t, len(src)); got[FrameSamples+7] != DecodeULaw(EncodeULaw(src[FrameSamples+7])) {
		t.Errorf("played sample differs")
	}
	if s, r := ms.Stats(); s == 0 || r == 0 {
		t.Errorf("mux stats sent %d received %d", s, r)
	}
}

// TestMuxLegRemotes: a remote already on one socket goes to the next; a
// pending leg sends nothing until SetRemote; SetRemote re-keys the leg and
// refuses an address another leg of its socket has; Close frees it.
func TestMuxLegRemotes(t *testing.T) {
	ms := newMuxSet(t, 2)
	r1 := netip.MustParseAddrPort("127.0.0.1:40000")
	r2 := netip.MustParseAddrPort("127.0.0.1:40002")
	a, err := ms.NewLeg(r1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ms.NewLeg(r1)
	if err != nil {
		t.Fatalf("same remote, second socket: %v", err)
	}
	if a.LocalPort() == b.LocalPort() {
		t.Fatal("two legs with one remote on one socket")
	}
	if _, err := ms.NewLeg(r1); !errors.Is(err, ErrRemoteInUse) {
		t.Errorf("third leg for one remote on two sockets: %v", err)
	}
	p, err := ms.NewLeg(netip.AddrPort{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Remote().IsValid() || p.WritePacket(make([]byte, 20)) != nil {
		t.Error("pending leg has a remote or fails to drop")
	}
	if err := a.SetRemote(r2); err != nil {
		t.Fatal(err)
	}
	if a.Remote() != r2 {
		t.Errorf("remote = %v", a.Remote())
	}
	// a left r1 on its socket: another leg may take it there now.
	if err := p.SetRemote(r1); err != nil && p.LocalPort() != b.LocalPort() {
		t.Errorf("r1 freed by a: %v", err)
	}
	if ms.Legs() != 3 {
		t.Errorf("legs = %d, want 3", ms.Legs())
	}
	for _, l := range []*MuxLeg{a, b, p} {
		l.Close()
		l.Close()
	}
	if ms.Legs() != 0 {
		t.Errorf("legs after close = %d", ms.Legs())
	}
	if _, err := ms.NewLeg(r1); err != nil {
		t.Errorf("remote free again: %v", err)
	}
}

// TestMuxRTCP: RTCP reports travel between a mux leg (RTCP on the shared
// RTP port + 1) and a session on a dedicated port pair.
func TestMuxRTCP(t *testing.T) {
	ms := newMuxSet(t, 1)
	tr, _ := newPool(t).Allocate()
	l, err := ms.NewLeg(tr.LocalAddr())
	if err != nil {
		t.Fatal(err)
	}
	_ = tr.SetRemote(l.LocalAddr())
	far := NewSession(tr, SessionConfig{Codec: PCMU, DTMFPayloadType: 101, RTCPInterval: 50 * time.Millisecond})
	near := NewSession(l, SessionConfig{Codec: PCMU, DTMFPayloadType: 101, RTCPInterval: 50 * time.Millisecond})
	run(t, t.Context(), far, near)
	if err := Play(t.Context(), near, tone(10*FrameSamples), false, nil); err != nil {
		t.Fatal(err)
	}
	if err := Play(t.Context(), far, tone(10*FrameSamples), false, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !near.Quality().RemoteReported || !far.Quality().RemoteReported {
		if time.Now().After(deadline) {
			t.Fatalf("no RTCP both ways: near %+v far %+v", near.Quality(), far.Quality())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A report from an address no leg has is dropped without harm.
	b, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 1}})
	_ = tr.WriteRTCP(b)
}
