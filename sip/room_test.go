package sip

import (
	"context"
	"testing"
	"time"

	"switchboard/acd"
	"switchboard/sip/media"
	"switchboard/sip/siptest"
)

// loud counts the samples of s louder than level.
func loud(s []int16, level int16) int {
	n := 0
	for _, v := range s {
		if v > level || v < -level {
			n++
		}
	}
	return n
}

// say sends frames of a constant level from c for n frames, paced.
func say(c interface{ Session() *media.Session }, level int16, n int) {
	frame := make([]int16, 160)
	for i := range frame {
		frame[i] = level
	}
	for range n {
		_ = c.Session().WriteFrame(frame)
		time.Sleep(20 * time.Millisecond)
	}
}

// heard returns how many loud samples each phone call received while
// talker said something.
func heard(talker interface{ Session() *media.Session }, level int16, calls ...*siptest.Call) []int {
	before := make([]int, len(calls))
	for i, c := range calls {
		before[i] = loud(c.Samples(), level/2)
	}
	say(talker, level, 40)
	time.Sleep(100 * time.Millisecond)
	got := make([]int, len(calls))
	for i, c := range calls {
		got[i] = loud(c.Samples(), level/2) - before[i]
	}
	return got
}

// monitored sets up a caller bridged to agent alice and supervisor sam's
// softphone leg.
func monitored(t *testing.T, ctx context.Context) (a *Agents, caller, agent, sup *siptest.Call, callerLeg *Call) {
	t.Helper()
	inbound := make(chan *Call, 4)
	g := startGateway(t, Config{}, WithCallHandler(func(c *Call) { inbound <- c }))
	a = NewAgents(g, AgentsOptions{RingTimeout: 5 * time.Second})
	pcmu := media.PCMU
	agentPhone := newPhone(t, "alice")
	agentPhone.AnswerWith(&pcmu)
	if res, err := agentPhone.Register(ctx, g.UDPAddr(), "s3cret", 300); err != nil || res.StatusCode != 200 {
		t.Fatalf("REGISTER: %v %v", res, err)
	}
	var err error
	if caller, err = newPhone(t, "caller").Invite(ctx, g.UDPAddr(), "100", media.PCMU); err != nil {
		t.Fatal(err)
	}
	callerLeg = <-inbound
	if sup, err = newPhone(t, "sam").Invite(ctx, g.UDPAddr(), "101", media.PCMU); err != nil {
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
	agent = <-agentPhone.Inbound
	go func() { _ = a.Bridge(ctx, callerLeg, agentLeg) }()
	waitFor(t, "bridge", func() bool { a.mu.Lock(); defer a.mu.Unlock(); return len(a.bridges) == 1 })
	return a, caller, agent, sup, callerLeg
}

// TestSupervisorWhisperAndBarge checks where a supervisor's voice goes in
// each mode, switching modes during the call: whisper reaches the agent
// and never the caller, barge both, listen neither; the supervisor hears
// the call throughout, and the bridge relays again once they leave.
func TestSupervisorWhisperAndBarge(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, caller, agent, sup, callerLeg := monitored(t, ctx)

	if err := a.Listen(ctx, "sam", callerLeg.ID(), ModeWhisper); err != nil {
		t.Fatal(err)
	}
	if got := heard(sup, 5000, agent, caller); got[0] < 4000 || got[1] > 0 {
		t.Errorf("whisper: agent heard %d loud samples (want ≥ 4000), caller %d (want 0)", got[0], got[1])
	}
	if got := heard(caller, 5000, agent, sup); got[0] < 4000 || got[1] < 4000 {
		t.Errorf("whisper: caller reached agent %d, supervisor %d samples (want ≥ 4000 each)", got[0], got[1])
	}
	if err := a.Listen(ctx, "sam", callerLeg.ID(), ModeBarge); err != nil {
		t.Fatal(err)
	}
	if got := heard(sup, 5000, agent, caller); got[0] < 4000 || got[1] < 4000 {
		t.Errorf("barge: agent heard %d, caller %d loud samples (want ≥ 4000 each)", got[0], got[1])
	}
	if err := a.Listen(ctx, "sam", callerLeg.ID(), ModeListen); err != nil {
		t.Fatal(err)
	}
	if got := heard(sup, 5000, agent, caller); got[0] > 0 || got[1] > 0 {
		t.Errorf("listen: agent heard %d, caller %d loud samples of the supervisor (want 0)", got[0], got[1])
	}
	if got := heard(agent, 5000, caller, sup); got[0] < 4000 || got[1] < 4000 {
		t.Errorf("listen: agent reached caller %d, supervisor %d samples (want ≥ 4000 each)", got[0], got[1])
	}
	// Hold while monitored: the caller leaves the mix and hears neither.
	if err := callerLeg.Hold(ctx, true); err != nil {
		t.Fatal(err)
	}
	if got := heard(agent, 5000, caller); got[0] > 0 {
		t.Errorf("held caller heard the agent: %d samples", got[0])
	}
	if err := callerLeg.Hold(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := a.StopListening(ctx, "sam", callerLeg.ID()); err != nil {
		t.Fatal(err)
	}
	if got := heard(caller, 5000, agent, sup); got[0] < 4000 || got[1] > 0 {
		t.Errorf("after monitoring: agent heard %d (want ≥ 4000), supervisor %d (want 0)", got[0], got[1])
	}
}

// TestConferenceOfThree mixes caller, agent and a third party through
// Agents.Conference: each hears the other two, and the conference ends
// when a party hangs up, leaving the others' legs up.
func TestConferenceOfThree(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inbound := make(chan *Call, 4)
	g := startGateway(t, Config{}, WithCallHandler(func(c *Call) { inbound <- c }))
	a := NewAgents(g, AgentsOptions{})
	var phones []*siptest.Call
	var legs []acd.Leg
	for i, name := range []string{"caller", "agent", "third"} {
		pc, err := newPhone(t, name).Invite(ctx, g.UDPAddr(), "10"+string(rune('0'+i)), media.PCMU)
		if err != nil {
			t.Fatal(err)
		}
		phones = append(phones, pc)
		legs = append(legs, <-inbound)
	}
	done := make(chan error, 1)
	go func() { done <- a.Conference(ctx, legs) }()
	waitFor(t, "conference", func() bool { a.mu.Lock(); defer a.mu.Unlock(); return a.rooms[legs[0].ID()] != nil })
	for i, p := range phones {
		var others []*siptest.Call
		for j, q := range phones {
			if j != i {
				others = append(others, q)
			}
		}
		if got := heard(p, 5000, others...); got[0] < 4000 || got[1] < 4000 {
			t.Errorf("party %d reached the others with %v loud samples, want ≥ 4000 each", i, got)
		}
	}
	if err := legs[2].Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("conference did not end when a party hung up")
	}
	if legs[0].Context().Err() != nil || legs[1].Context().Err() != nil {
		t.Error("conference hung up a remaining party")
	}
}
