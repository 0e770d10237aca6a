package sip

import (
	"context"
	"errors"
	"testing"
	"time"

	"switchboard/sip/media"
)

// TestSupervisorListen bridges a caller to an agent through Agents and lets a
// supervisor's softphone leg listen in: it hears both parties mixed, whisper
// is refused, and StopListening ends the monitoring.
func TestSupervisorListen(t *testing.T) {
	inbound := make(chan *Call, 4)
	g := startGateway(t, Config{}, WithCallHandler(func(c *Call) { inbound <- c }))
	a := NewAgents(g, AgentsOptions{RingTimeout: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pcmu := media.PCMU

	agentPhone := newPhone(t, "alice")
	agentPhone.AnswerWith(&pcmu)
	if res, err := agentPhone.Register(ctx, g.UDPAddr(), "s3cret", 300); err != nil || res.StatusCode != 200 {
		t.Fatalf("REGISTER: %v %v", res, err)
	}
	caller, err := newPhone(t, "caller").Invite(ctx, g.UDPAddr(), "100", media.PCMU)
	if err != nil {
		t.Fatal(err)
	}
	callerLeg := <-inbound
	sup, err := newPhone(t, "sam").Invite(ctx, g.UDPAddr(), "101", media.PCMU)
	if err != nil {
		t.Fatal(err)
	}
	supLeg := <-inbound
	a.mu.Lock()
	a.softphones["sam"] = supLeg // stands in for the supervisor's WebRTC softphone
	a.mu.Unlock()

	agentLeg, err := g.Dial(ctx, "alice", DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	agent := <-agentPhone.Inbound
	go func() { _ = a.Bridge(ctx, callerLeg, agentLeg) }()
	waitFor(t, "bridge", func() bool { a.mu.Lock(); defer a.mu.Unlock(); return len(a.bridges) == 1 })

	if err := a.Listen(ctx, "sam", callerLeg.ID(), "whisper"); !errors.Is(err, ErrListenMode) {
		t.Errorf("whisper: err = %v, want ErrListenMode", err)
	}
	if err := a.Listen(ctx, "nobody", callerLeg.ID(), "listen"); !errors.Is(err, ErrNoEndpoint) {
		t.Errorf("listen without a softphone: err = %v, want ErrNoEndpoint", err)
	}
	if err := a.Listen(ctx, "sam", callerLeg.ID(), "listen"); err != nil {
		t.Fatal(err)
	}
	talk := func(c interface{ Session() *media.Session }, level int16, frames int) {
		frame := make([]int16, 160)
		for i := range frame {
			frame[i] = level
		}
		for range frames {
			_ = c.Session().WriteFrame(frame)
			time.Sleep(20 * time.Millisecond)
		}
	}
	go talk(agent, 3000, 60)
	talk(caller, 6000, 60)
	mixed, callerOnly := 0, 0
	for _, v := range sup.Samples() {
		switch {
		case v > 8000: // caller + agent
			mixed++
		case v > 5000:
			callerOnly++
		}
	}
	if mixed < 1600 {
		t.Errorf("supervisor heard %d mixed samples (caller+agent) and %d caller-only, want ≥ 1600 mixed", mixed, callerOnly)
	}

	if err := a.StopListening(ctx, "sam", callerLeg.ID()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	before := len(sup.Samples())
	talk(caller, 6000, 20)
	if after := len(sup.Samples()); after-before > 320 {
		t.Errorf("supervisor still hears the call after StopListening: %d new samples", after-before)
	}
}
