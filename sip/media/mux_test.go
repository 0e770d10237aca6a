package media

import (
	"net/netip"
	"testing"
)

// TestMuxBridge: two legs on one MuxSocket, bridged, relay audio and DTMF
// both ways between two ordinary sessions.
func TestMuxBridge(t *testing.T) {
	ms, err := NewMuxSocket(netip.MustParseAddrPort("127.0.0.1:0"), 16)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = ms.Run(); close(done) }()
	defer func() { ms.Close(); <-done }()
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
	if _, err := ms.NewLeg(ta.LocalAddr()); err != ErrRemoteInUse {
		t.Errorf("duplicate remote: %v", err)
	}
	tc.SetRemote(ms.LocalAddr())
	ta.SetRemote(ms.LocalAddr())
	caller := NewSession(tc, SessionConfig{Codec: PCMU, DTMFPayloadType: 101})
	agent := NewSession(ta, SessionConfig{Codec: PCMA, DTMFPayloadType: 101})
	ga := NewSession(la, SessionConfig{Codec: PCMU, DTMFPayloadType: 101})
	gb := NewSession(lb, SessionConfig{Codec: PCMA, DTMFPayloadType: 101})
	la.Attach(ga)
	lb.Attach(gb)
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
	if err := Play(ctx, agent, src, false, nil); err != nil {
		t.Fatal(err)
	}
	got := atAgent.waitSamples(t, len(src))
	for i := range src {
		if want := DecodeALaw(ULawToALaw(EncodeULaw(src[i]))); got[i] != want {
			t.Fatalf("agent sample %d = %d, want %d", i, got[i], want)
		}
	}
	atCaller.waitSamples(t, len(src))
	if s, r := ms.Stats(); s == 0 || r == 0 {
		t.Errorf("mux stats sent %d received %d", s, r)
	}
}
