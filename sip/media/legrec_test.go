package media

import (
	"sync"
	"testing"
	"time"
)

// TestLegRecorder records the gateway side of a caller's leg bridged to an
// agent: what the caller says on the left, what reaches the caller (the
// agent's audio relayed, then a prompt played to the caller) on the
// right; paused, it writes silence on both sides and keeps the timeline.
func TestLegRecorder(t *testing.T) {
	pool := newPool(t)
	caller, gwA := pair(t, pool, PCMU, PCMU)
	gwB, agent := pair(t, pool, PCMA, PCMA)
	ctx := t.Context()
	run(t, ctx, caller, gwA, gwB, agent)
	gwA.SetPeer(gwB)
	gwB.SetPeer(gwA)
	path := t.TempDir() + "/leg.wav"
	rec, err := NewLegRecorder(path, gwA)
	if err != nil {
		t.Fatal(err)
	}
	frames := func(level int16) []int16 {
		s := make([]int16, 10*FrameSamples)
		for i := range s {
			s[i] = level
		}
		return s
	}
	talk := func() {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); _ = Play(ctx, caller, frames(8000), false, nil) }()
		go func() { defer wg.Done(); _ = Play(ctx, agent, frames(-8000), false, nil) }()
		wg.Wait()
		time.Sleep(100 * time.Millisecond)
	}
	talk()
	rec.Pause(true)
	if !rec.Paused() {
		t.Fatal("not paused")
	}
	talk()
	rec.Pause(false)
	_ = Play(ctx, gwA, frames(-12000), false, nil) // a prompt to the caller
	time.Sleep(100 * time.Millisecond)
	if err := rec.Stop(); err != nil {
		t.Fatal(err)
	}
	l, r, err := ReadWAVStereo(path)
	if err != nil {
		t.Fatal(err)
	}
	var said, heard, prompt int
	for i := range l {
		switch {
		case l[i] > 4000:
			said++
		case l[i] < -4000:
			t.Fatalf("the agent's audio on the caller's side at %d", i)
		}
		switch {
		case r[i] < -10000:
			prompt++
		case r[i] < -4000:
			heard++
		case r[i] > 4000:
			t.Fatalf("the caller's own audio on the heard side at %d", i)
		}
	}
	// One burst each was kept; the paused one was not.
	n := 10 * FrameSamples
	if said < n/2 || said > n+FrameSamples || heard < n/2 || heard > n+FrameSamples || prompt < n/2 {
		t.Errorf("caller said %d, heard %d from the agent and %d of the prompt (a burst is %d samples, one kept each)", said, heard, prompt, n)
	}
}
