package main

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/sip/media"
	"switchboard/sip/siptest"
)

// TestClusterMonitor: a call held by a node that does not lead reaches
// carol's phone; sam, a supervisor whose browser softphone is connected
// to the leader, listens, whispers and barges: the caller's node mixes a
// relay leg to the leader into the call. Listening, sam hears the
// caller; whispering, carol hears sam and the caller does not; barging,
// the caller hears sam too.
func TestClusterMonitor(t *testing.T) {
	r := startCluster(t)
	carolDesk, carolPhone := r.agent("carol")
	carolDesk.command("presence.set", map[string]string{"presence": "ready"})
	browser := softphoneDesk(t, r.http, "sam")
	samToken, _ := r.login("sam", "demo")
	sam := r.connectCTI(samToken)
	sam.waitFor(5*time.Second, func(e envelope) bool { return e.Type == "hello" })
	sam.command("presence.set", map[string]string{"presence": "not-ready", "reason": "training"})
	held := r.remoteCall(carolDesk, carolPhone, "+1415555060")
	ani, callID, caller, carolLeg := held.ani, held.id, held.caller, held.agentLeg

	browserHeard := func() float64 {
		t.Helper()
		got, err := chromedp.Run(browser, chromedp.Evaluate[float64](`(async () => {
			const st = await window.switchboard.phone.pc.getStats();
			let n = 0; st.forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'audio') n += r.totalAudioEnergy || 0; });
			return n; })()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	// energy is what a phone call received since from, in samples above
	// a whisper's level.
	energy := func(c *siptest.Call, from int) (int, int) {
		s := c.Samples()
		n := 0
		for _, v := range s[min(from, len(s)):] {
			if math.Abs(float64(v)) > 300 {
				n++
			}
		}
		return n, len(s)
	}

	sam.command("sup.listen", map[string]string{"call_id": callID, "mode": "listen"})
	before := browserHeard()
	tone := make([]int16, 8000)
	for i := range tone {
		tone[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	ctx, stop := context.WithCancel(t.Context())
	go func() { _ = media.Play(ctx, caller.Session(), tone, true, nil) }()
	time.Sleep(2 * time.Second)
	stop()
	if after := browserHeard(); after <= before {
		t.Errorf("listening, the supervisor's browser heard nothing of the caller (energy %v then %v)", before, after)
	}

	// The browser's fake microphone beeps: whispering, carol hears it and
	// the caller does not.
	_, callerAt := energy(caller, 0)
	_, carolAt := energy(carolLeg, 0)
	sam.command("sup.listen", map[string]string{"call_id": callID, "mode": "whisper"})
	time.Sleep(3 * time.Second)
	callerGot, callerAt2 := energy(caller, callerAt)
	carolGot, _ := energy(carolLeg, carolAt)
	if carolGot == 0 || callerGot != 0 {
		t.Errorf("whispering: carol heard %d and the caller %d samples of the supervisor, want > 0 and 0", carolGot, callerGot)
	}
	sam.command("sup.listen", map[string]string{"call_id": callID, "mode": "barge"})
	time.Sleep(3 * time.Second)
	if got, _ := energy(caller, callerAt2); got == 0 {
		t.Error("barging, the caller did not hear the supervisor")
	}
	sam.command("sup.listen.stop", map[string]string{"call_id": callID})
	r.end(carolDesk, caller, callID)
	if rec := r.waitRecord(ani); rec.outcome != "answered" {
		t.Errorf("record: %q %v, want answered", rec.outcome, rec.reasons)
	}
}
