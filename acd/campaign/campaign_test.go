package campaign

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/acd/dialplan"
)

// t0 is a Tuesday, 10:00 in New York and 07:00 in Los Angeles.
var t0 = utc("2026-01-06T15:00:00Z")

func newCampaign(t *testing.T, cfg Config, dnc DNC, contacts ...Contact) *Campaign {
	t.Helper()
	plan, err := dialplan.New(dialplan.Config{HomeCountry: "US"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ID == "" {
		cfg.ID = "spring"
	}
	if cfg.Queue == "" {
		cfg.Queue = "sales"
	}
	if cfg.Mode == "" {
		cfg.Mode = Predictive
	}
	if dnc == nil {
		dnc = NewDNCList()
	}
	c, err := New(cfg, plan, dnc)
	if err != nil {
		t.Fatal(err)
	}
	c.Add(t0, contacts)
	return c
}

func next(t *testing.T, c *Campaign, now time.Time) (Dial, bool) {
	t.Helper()
	d, ok, err := c.Next(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	return d, ok
}

func mustNext(t *testing.T, c *Campaign, now time.Time, wantNumber string) Dial {
	t.Helper()
	d, ok := next(t, c, now)
	if !ok || d.Number != wantNumber {
		t.Fatalf("Next at %v = %+v, %v; want %s", now, d, ok, wantNumber)
	}
	return d
}

func results(recs []Attempt) map[string]Result {
	m := map[string]Result{}
	for _, r := range recs {
		m[r.Contact.Number] = r.Result
	}
	return m
}

// TestNextChecks: list order, the window in the contact's zone, the dial
// plan, the do-not-call list, and contacts that can never be called.
func TestNextChecks(t *testing.T) {
	dnc := NewDNCList("+1 212 555 0103")
	c := newCampaign(t, Config{}, dnc,
		Contact{ID: "ny1", Number: "+12125550101"},
		Contact{ID: "la1", Number: "+14155550101"},
		Contact{ID: "ny2", Number: "+12125550102"},
		Contact{ID: "uk", Number: "+442079460123"},    // international: the dial plan refuses
		Contact{ID: "ny3", Number: "+12125550103"},    // on the DNC list
		Contact{ID: "bad", Number: "+1212"},           // not a number
		Contact{ID: "dup", Number: "+1 212 555 0101"}, // ny1's number
		Contact{ID: "net", Number: "+88234512345"},    // no time zone
	)
	mustNext(t, c, t0, "+12125550101")
	mustNext(t, c, t0, "+12125550102")
	if d, ok := next(t, c, t0); ok {
		t.Fatalf("Next = %+v; Los Angeles is not open yet", d)
	}
	mustNext(t, c, utc("2026-01-06T17:00:00Z"), "+14155550101")
	// The duplicate is recorded under its number, which is ny1's.
	want := map[string]Result{"+442079460123": ResultUncallable, "+12125550103": ResultDNC, "+1212": ResultUncallable,
		"+88234512345": ResultUncallable, "+12125550101": ResultUncallable}
	recs := c.Records(nil)
	if diff := cmp.Diff(want, results(recs)); diff != "" || len(recs) != 5 {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	s := c.Stats(t0)
	if s.Contacts != 8 || s.Done != 5 || s.DNC != 1 || s.Uncallable != 4 || s.Dialing != 3 || s.Pending != 0 {
		t.Errorf("stats = %+v", s)
	}
}

type failingDNC struct{ err error }

func (f failingDNC) Blocked(context.Context, string) (bool, error) { return false, f.err }

func TestNextDNCError(t *testing.T) {
	boom := errors.New("registry down")
	dnc := &failingDNC{err: boom}
	c := newCampaign(t, Config{}, dnc, Contact{Number: "+12125550101"})
	if _, ok, err := c.Next(context.Background(), t0); ok || !errors.Is(err, boom) {
		t.Fatalf("Next = %v, %v; want the list's error", ok, err)
	}
	dnc.err = nil
	mustNext(t, c, t0, "+12125550101")
}

// TestRetries: each result's rule, retries ahead of fresh contacts, and
// the attempt cap.
func TestRetries(t *testing.T) {
	c := newCampaign(t, Config{MaxAttempts: 3}, nil,
		Contact{ID: "a", Number: "+12125550101"}, Contact{ID: "b", Number: "+12125550102"},
		Contact{ID: "c", Number: "+12125550103"}, Contact{ID: "d", Number: "+12125550104"})
	now := t0
	d := mustNext(t, c, now, "+12125550101")
	if err := c.Finish(d.ID, ResultBusy, now); err != nil {
		t.Fatal(err)
	}
	// Busy: due again in 15 minutes, ahead of the untouched contacts.
	mustNext(t, c, now.Add(14*time.Minute), "+12125550102")
	d = mustNext(t, c, now.Add(15*time.Minute), "+12125550101")
	if d.Attempt != 2 {
		t.Errorf("attempt = %d, want 2", d.Attempt)
	}
	now = now.Add(15 * time.Minute)
	if err := c.Finish(d.ID, ResultNoAnswer, now); err != nil {
		t.Fatal(err)
	}
	mustNext(t, c, now.Add(59*time.Minute), "+12125550103")
	d = mustNext(t, c, now.Add(time.Hour), "+12125550101")
	now = now.Add(time.Hour)
	if err := c.Finish(d.ID, ResultBusy, now); err != nil {
		t.Fatal(err)
	}
	// Three attempts: done.
	mustNext(t, c, now.Add(time.Hour), "+12125550104")
	if d, ok := next(t, c, now.Add(2*time.Hour)); ok {
		t.Fatalf("Next = %+v after the last attempt", d)
	}
	var last Attempt
	for _, r := range c.Records(nil) {
		if r.Contact.ID == "a" {
			last = r
		}
	}
	if last.Attempt != 3 || last.Result != ResultBusy || !last.Retry.IsZero() {
		t.Errorf("last record = %+v", last)
	}
}

func TestRetryRules(t *testing.T) {
	for _, tc := range []struct {
		res   Result
		treat Treatment
		after time.Duration // 0: done
	}{
		{ResultBusy, Drop, 15 * time.Minute},
		{ResultNoAnswer, Drop, time.Hour},
		{ResultMachine, Drop, 4 * time.Hour},
		{ResultMachine, Message, 0},
		{ResultAbandoned, Drop, 72 * time.Hour},
		{ResultFailed, Drop, 0},
		{ResultConnected, Drop, 0},
	} {
		t.Run(string(tc.res)+"/"+string(tc.treat), func(t *testing.T) {
			c := newCampaign(t, Config{AMD: tc.treat}, nil, Contact{Number: "+12125550101"})
			d := mustNext(t, c, t0, "+12125550101")
			switch tc.res {
			case ResultConnected, ResultAbandoned:
				_ = c.Answered(d.ID, Human, t0)
			case ResultMachine:
				_ = c.Answered(d.ID, Machine, t0)
			}
			if err := c.Finish(d.ID, tc.res, t0.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			rec := c.Records(nil)[0]
			var want time.Time
			if tc.after > 0 {
				want = t0.Add(time.Second + tc.after)
			}
			if !rec.Retry.Equal(want) || rec.Attempt != 1 || rec.Result != tc.res {
				t.Errorf("record = %+v, want retry at %v", rec, want)
			}
		})
	}
}

func TestFinishRefusals(t *testing.T) {
	c := newCampaign(t, Config{}, nil, Contact{Number: "+12125550101"}, Contact{Number: "+12125550102"})
	a := mustNext(t, c, t0, "+12125550101")
	b := mustNext(t, c, t0, "+12125550102")
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"connected before an answer", c.Finish(a.ID, ResultConnected, t0), ErrResult},
		{"dnc is not a dial result", c.Finish(a.ID, ResultDNC, t0), ErrResult},
		{"unknown dial", c.Finish("nope", ResultBusy, t0), ErrUnknownDial},
		{"answered by nobody", c.Answered(a.ID, 0, t0), ErrResult},
		{"answer", c.Answered(a.ID, Human, t0), nil},
		{"answered twice", c.Answered(a.ID, Machine, t0), ErrResult},
		{"busy after an answer", c.Finish(a.ID, ResultBusy, t0), ErrResult},
		{"machine after a person", c.Finish(a.ID, ResultMachine, t0), ErrResult},
		{"machine without detection", c.Finish(b.ID, ResultMachine, t0), nil},
		{"finished twice", c.Finish(b.ID, ResultBusy, t0), ErrUnknownDial},
	} {
		if !errors.Is(tc.err, tc.want) || (tc.want == nil) != (tc.err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if s := c.Stats(t0); s.Waiting != 1 || s.Dialing != 0 || s.Dialed != 1 || s.Machines != 1 {
		t.Errorf("stats = %+v", s)
	}
}

// TestOutOfWindowLater: a preview left open past the window's end is not
// dialled and waits, with no attempt counted, for the window to open.
func TestOutOfWindowLater(t *testing.T) {
	c := newCampaign(t, Config{Mode: Preview}, nil, Contact{Number: "+12125550101"})
	late := utc("2026-01-07T01:59:00Z") // 20:59 in New York
	d := mustNext(t, c, late, "+12125550101")
	if err := c.Finish(d.ID, ResultOutOfWindow, late.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	rec := c.Records(nil)[0]
	opens := utc("2026-01-07T14:00:00Z")
	if rec.Attempt != 0 || !rec.Retry.Equal(opens) {
		t.Errorf("record = %+v, want no attempt and the contact due at %v", rec, opens)
	}
	if _, ok := next(t, c, opens.Add(-time.Minute)); ok {
		t.Fatal("handed out before the window opens")
	}
	if d := mustNext(t, c, opens, "+12125550101"); d.Attempt != 1 {
		t.Errorf("attempt = %d, want 1", d.Attempt)
	}
	if s := c.Stats(opens); s.Dialed != 0 || s.Ratio != 0 {
		t.Errorf("stats = %+v", s)
	}
}

// TestAbandonRate: calls a person answered, abandoned or connected late,
// over the rolling window.
func TestAbandonRate(t *testing.T) {
	var contacts []Contact
	for i := range 100 {
		contacts = append(contacts, Contact{Number: "+1212555" + pad4(i)})
	}
	c := newCampaign(t, Config{}, nil, contacts...)
	now := t0
	for i := range 100 {
		d := mustNext(t, c, now, contacts[i].Number)
		if err := c.Answered(d.ID, Human, now.Add(10*time.Second)); err != nil {
			t.Fatal(err)
		}
		res, wait := ResultConnected, time.Second
		switch i {
		case 10, 20:
			res = ResultAbandoned
		case 30:
			wait = 3 * time.Second // connected after the 2 s grace
		}
		if err := c.Finish(d.ID, res, now.Add(10*time.Second+wait)); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Minute)
	}
	s := c.Stats(now)
	if s.AbandonRate != 0.03 || s.Answered != 100 || s.Connected != 98 || s.Abandoned != 2 {
		t.Errorf("stats = %+v, want 3 abandoned (one late) of 100", s)
	}
	var late int
	for _, r := range c.Records(nil) {
		if r.Late {
			late++
		}
	}
	if late != 1 {
		t.Errorf("late records = %d, want 1", late)
	}
	if s := c.Stats(now.Add(24 * time.Hour)); s.AbandonRate != 0 || s.Answered != 0 {
		t.Errorf("a day later: rate %v over %d, want none", s.AbandonRate, s.Answered)
	}
}

func pad4(i int) string {
	b := []byte("0000")
	for j := 3; j >= 0; j-- {
		b[j] = byte('0' + i%10)
		i /= 10
	}
	return string(b)
}
