package media

import "testing"

func TestDTMFDetectorRedundantEnd(t *testing.T) {
	var d DTMFDetector
	type pkt struct {
		ts uint32
		ev DTMFEvent
	}
	seq := []pkt{
		{1000, DTMFEvent{Event: 1, Duration: 160}},
		{1000, DTMFEvent{Event: 1, Duration: 320}},
		{1000, DTMFEvent{Event: 1, Duration: 480, End: true}},
		{1000, DTMFEvent{Event: 1, Duration: 480, End: true}},
		{1000, DTMFEvent{Event: 1, Duration: 480, End: true}},
		// same digit again, new press
		{3000, DTMFEvent{Event: 1, Duration: 160}},
		{3000, DTMFEvent{Event: 1, Duration: 480, End: true}},
		// start lost: only end packets
		{5000, DTMFEvent{Event: 11, Duration: 800, End: true}},
		{5000, DTMFEvent{Event: 11, Duration: 800, End: true}},
		{7000, DTMFEvent{Event: 10, Duration: 160}},
		{7000, DTMFEvent{Event: 10, Duration: 320, End: true}},
		// a replayed capture: the same press again, same timestamp
		{7000, DTMFEvent{Event: 10, Duration: 160}},
		{7000, DTMFEvent{Event: 10, Duration: 320, End: true}},
		{7000, DTMFEvent{Event: 10, Duration: 320, End: true}},
	}
	var got string
	for _, p := range seq {
		if dg, ok := d.Feed(p.ts, p.ev.AppendTo(nil)); ok {
			got += string(dg)
		}
	}
	if want := "11#**"; got != want {
		t.Errorf("digits = %q, want %q", got, want)
	}
}

func TestDTMFRoundTrip(t *testing.T) {
	for _, e := range []DTMFEvent{{Event: 0}, {Event: 16, End: true, Volume: 63, Duration: 65535}, {Event: 5, Volume: 10, Duration: 800}} {
		got, err := ParseDTMF(e.AppendTo(nil))
		if err != nil || got != e {
			t.Errorf("ParseDTMF(AppendTo(%+v)) = %+v, %v", e, got, err)
		}
	}
	if _, err := ParseDTMF([]byte{17, 0, 0, 0}); err == nil {
		t.Error("event 17 accepted")
	}
	if _, err := ParseDTMF([]byte{1, 2}); err == nil {
		t.Error("short payload accepted")
	}
}

func TestEventForDigit(t *testing.T) {
	for i := range 16 {
		d, _ := DigitForEvent(uint8(i))
		ev, ok := EventForDigit(d)
		if !ok || ev != uint8(i) {
			t.Errorf("EventForDigit(%q) = %d, %v", d, ev, ok)
		}
	}
	if _, ok := EventForDigit('x'); ok {
		t.Error("x accepted")
	}
}

func FuzzDTMF(f *testing.F) {
	f.Add(uint32(0), []byte{1, 0x80, 0, 160})
	f.Add(uint32(5), []byte{16, 0x3f, 0xff, 0xff, 0, 0})
	f.Add(uint32(9), []byte{})
	f.Fuzz(func(t *testing.T, ts uint32, p []byte) {
		var d DTMFDetector
		d1, ok1 := d.Feed(ts, p)
		if _, ok := d.Feed(ts, p); ok {
			t.Fatalf("same packet twice gave two digits (%q)", d1)
		}
		e, err := ParseDTMF(p)
		if err != nil {
			if ok1 {
				t.Fatal("digit from invalid payload")
			}
			return
		}
		if got, _ := ParseDTMF(e.AppendTo(nil)); got != e {
			t.Fatalf("round trip %+v → %+v", e, got)
		}
	})
}
