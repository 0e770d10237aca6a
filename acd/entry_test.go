package acd_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"switchboard/acd"
	"switchboard/crmcore"
)

// memRecorder keeps the records written to it.
type memRecorder struct {
	mu   sync.Mutex
	recs []crmcore.Interaction
}

func (m *memRecorder) Write(_ context.Context, in crmcore.Interaction) error {
	if err := in.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, in)
	return nil
}

func (m *memRecorder) AppendWrapUp(context.Context, crmcore.WrapUp) error { return nil }

// TestEntryRefused: a call the gateway refused for capacity gets its
// interaction record (outcome failed, the reason, the caller's number in
// E.164, arrived and ended at the refusal).
func TestEntryRefused(t *testing.T) {
	h := newHarness(t, basicYAML)
	rec := &memRecorder{}
	at := time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC)
	x := acd.NewEntry(h.e, nil, nil, rec, acd.EntryOptions{DefaultRegion: "US", Now: func() time.Time { return at }})
	x.Refused("call-1@host", "2125550143", "15550100", "call limit")
	if len(rec.recs) != 1 {
		t.Fatalf("%d records, want 1", len(rec.recs))
	}
	r := rec.recs[0]
	if r.CallID != "call-1@host" || r.ANI != "+12125550143" || r.DNIS != "15550100" || r.Outcome != crmcore.OutcomeFailed ||
		r.Direction != crmcore.Inbound || r.ID == "" {
		t.Errorf("record %+v", r)
	}
	if len(r.RoutingReasons) != 1 || r.RoutingReasons[0] != "refused: call limit" {
		t.Errorf("routing reasons %q, want the refusal's reason", r.RoutingReasons)
	}
	if !r.ArrivedAt.Equal(at) || r.EndedAt == nil || !r.EndedAt.Equal(at) {
		t.Errorf("arrived %v, ended %v; want both %v", r.ArrivedAt, r.EndedAt, at)
	}
}
