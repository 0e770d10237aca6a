package ivrtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"switchboard/ivr"
)

func TestSessionScript(t *testing.T) {
	s := NewSession(Keys("12"), Timeout(), HangupAt("menu"), Keys("9"))
	ctx, cancel := s.Context(context.Background())
	defer cancel()

	if err := s.Play(ctx, []string{"p/en/welcome.wav"}, false); err != nil {
		t.Fatalf("Play: %v", err)
	}
	for _, want := range []byte("12") {
		d, ok, err := s.ReadDigit(ctx, time.Second)
		if err != nil || !ok || d != want {
			t.Fatalf("ReadDigit = %q %v %v, want %q", d, ok, err, want)
		}
	}
	if _, ok, err := s.ReadDigit(ctx, 2*time.Second); ok || err != nil {
		t.Fatalf("ReadDigit = %v %v, want a timeout", ok, err)
	}
	if err := s.Play(ctx, []string{"p/en/other.wav"}, true); err != nil {
		t.Fatalf("Play before the hang-up prompt: %v", err)
	}
	if err := s.Play(ctx, []string{"p/en/menu.wav"}, true); !errors.Is(err, ErrHangup) {
		t.Fatalf("Play(menu) = %v, want ErrHangup", err)
	}
	if ctx.Err() == nil {
		t.Error("hang-up did not cancel the call context")
	}
	if _, _, err := s.ReadDigit(ctx, time.Second); !errors.Is(err, ErrHangup) {
		t.Errorf("ReadDigit after hang-up = %v", err)
	}
	if got := len(s.Played()); got != 3 {
		t.Errorf("%d plays recorded, want 3", got)
	}
	if got := s.Remaining(); got != 1 {
		t.Errorf("remaining = %d, want 1", got)
	}
	if got := s.ReadTimeouts(); len(got) != 3 || got[2] != 2*time.Second {
		t.Errorf("read timeouts = %v", got)
	}
}

func TestSessionMismatchAndRecord(t *testing.T) {
	ctx := context.Background()
	s := NewSession(Record(3*time.Second), Keys("1"), RecordThenHangup(time.Minute))
	if _, _, err := s.ReadDigit(ctx, time.Second); !errors.Is(err, ErrScript) {
		t.Errorf("ReadDigit with a recording next = %v, want ErrScript", err)
	}
	file := filepath.Join(t.TempDir(), "vm.wav")
	if d, err := s.Record(ctx, file, time.Minute); err != nil || d != 3*time.Second {
		t.Errorf("Record = %v %v", d, err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Size() != 44 {
		t.Errorf("recorded file: %v %v", fi, err)
	}
	if _, err := s.Record(ctx, file, time.Minute); !errors.Is(err, ErrScript) {
		t.Errorf("Record with digits next = %v, want ErrScript", err)
	}
	if _, _, err := s.ReadDigit(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	if d, err := s.Record(ctx, file, 30*time.Second); !errors.Is(err, ErrHangup) || d != 30*time.Second {
		t.Errorf("RecordThenHangup = %v %v, want 30s (capped) and ErrHangup", d, err)
	}
	if _, _, err := NewSession().ReadDigit(ctx, time.Second); !errors.Is(err, ErrScript) {
		t.Errorf("ReadDigit on an empty script = %v, want ErrScript", err)
	}
}

func TestLookup(t *testing.T) {
	l := &Lookup{
		Callers: map[string]ivr.Caller{"+1": {Name: "A"}},
		Tickets: map[string]ivr.Ticket{"7": {Status: "open"}},
	}
	ctx := context.Background()
	if c, ok, err := l.LookupCaller(ctx, "+1"); !ok || err != nil || c.Name != "A" {
		t.Errorf("LookupCaller = %v %v %v", c, ok, err)
	}
	if _, ok, err := l.LookupTicket(ctx, "8"); ok || err != nil {
		t.Errorf("LookupTicket(8) = %v %v", ok, err)
	}
	l.Err = errors.New("down")
	if _, _, err := l.LookupTicket(ctx, "7"); err == nil {
		t.Error("LookupTicket with Err set: no error")
	}
	if got := l.Keys(); len(got) != 3 || got[0] != "caller:+1" || got[2] != "ticket:7" {
		t.Errorf("keys = %v", got)
	}
}
