package crmcore

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTicketTransitionsEveryPair(t *testing.T) {
	allowed := map[[2]TicketStatus]bool{
		{StatusNew, StatusOpen}: true, {StatusNew, StatusPending}: true, {StatusNew, StatusSolved}: true,
		{StatusOpen, StatusPending}: true, {StatusOpen, StatusSolved}: true,
		{StatusPending, StatusOpen}: true, {StatusPending, StatusSolved}: true,
		{StatusSolved, StatusOpen}: true, {StatusSolved, StatusClosed}: true,
	}
	for _, from := range AllTicketStatuses {
		for _, to := range AllTicketStatuses {
			t.Run(from.String()+"->"+to.String(), func(t *testing.T) {
				err := from.To(to)
				if want := allowed[[2]TicketStatus{from, to}]; want {
					if err != nil {
						t.Fatalf("%s.To(%s) = %v, want nil", from, to, err)
					}
					return
				}
				if !errors.Is(err, ErrInvalidTransition) {
					t.Fatalf("%s.To(%s) = %v, want ErrInvalidTransition", from, to, err)
				}
				var te *TransitionError
				if !errors.As(err, &te) {
					t.Fatalf("error %T is not *TransitionError", err)
				}
				if diff := cmp.Diff(from.Next(), te.Allowed); diff != "" {
					t.Errorf("allowed (-want +got):\n%s", diff)
				}
				for _, a := range te.Allowed {
					if !strings.Contains(err.Error(), a.String()) {
						t.Errorf("message %q does not name allowed %s", err, a)
					}
				}
			})
		}
	}
}

func TestClosedIsFinal(t *testing.T) {
	if got := StatusClosed.Next(); len(got) != 0 {
		t.Fatalf("closed.Next() = %v, want none", got)
	}
	err := StatusClosed.To(StatusOpen)
	if err == nil || !strings.Contains(err.Error(), "final") {
		t.Fatalf("closed→open error = %v, want mention of final", err)
	}
}

func TestApplyTransitionStamps(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tk := Ticket{Status: StatusNew}
	steps := []TicketStatus{StatusOpen, StatusSolved, StatusOpen, StatusPending, StatusSolved, StatusClosed}
	for i, s := range steps {
		if err := tk.ApplyTransition(s, t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatalf("step %d → %s: %v", i, s, err)
		}
	}
	if tk.Status != StatusClosed || tk.ClosedAt == nil || tk.SolvedAt == nil || tk.FirstRespondedAt == nil {
		t.Fatalf("ticket after lifecycle = %+v", tk)
	}
	if got, want := *tk.SolvedAt, t0.Add(4*time.Minute); !got.Equal(want) {
		t.Errorf("SolvedAt = %v, want %v (reset on reopen)", got, want)
	}
	if err := tk.ApplyTransition(StatusOpen, t0); !errors.Is(err, ErrInvalidTransition) {
		t.Errorf("reopen closed = %v, want ErrInvalidTransition", err)
	}
}

func TestParseStatusPriorityNumber(t *testing.T) {
	for _, s := range AllTicketStatuses {
		got, err := ParseTicketStatus(strings.ToUpper(s.String()))
		if err != nil || got != s {
			t.Errorf("ParseTicketStatus(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseTicketStatus("reopened"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad status err = %v", err)
	}
	if _, err := ParsePriority("critical"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad priority err = %v", err)
	}
	for in, want := range map[string]int64{"T-1042": 1042, "t-7": 7, "1001": 1001} {
		if got, err := ParseTicketNumber(in); err != nil || got != want {
			t.Errorf("ParseTicketNumber(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "T-", "T-0", "X-12", "T-1a"} {
		if _, err := ParseTicketNumber(in); err == nil {
			t.Errorf("ParseTicketNumber(%q) succeeded", in)
		}
	}
}

func TestTicketPatchAudit(t *testing.T) {
	sla := DefaultSLAPolicy(time.UTC)
	created := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) // Monday
	tk, err := NewTicket(TicketInput{Subject: "Printer on fire", Priority: PriorityLow, Tags: []string{"B", "a", "b"}}, sla, created)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b"}, tk.Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	oldDue := tk.ResolutionDue
	urgent := PriorityUrgent
	subj := "Printer on fire!"
	changes, err := TicketPatch{Priority: &urgent, Subject: &subj}.Apply(&tk, sla)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 {
		t.Fatalf("changes = %+v, want 2", changes)
	}
	if !tk.ResolutionDue.Before(oldDue) {
		t.Errorf("urgent resolution due %v not before low due %v", tk.ResolutionDue, oldDue)
	}
	empty := ""
	if _, err := (TicketPatch{Subject: &empty}).Apply(&tk, sla); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty subject err = %v", err)
	}
}

func TestTicketBreach(t *testing.T) {
	due := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	late := due.Add(time.Minute)
	tk := Ticket{FirstResponseDue: due, ResolutionDue: due.Add(time.Hour)}
	tk.Evaluate(due.Add(-time.Minute))
	if tk.FirstResponseBreached || tk.ResolutionBreached {
		t.Errorf("breached before due: %+v", tk)
	}
	tk.Evaluate(late)
	if !tk.FirstResponseBreached || tk.ResolutionBreached {
		t.Errorf("after first-response due: fr=%v res=%v", tk.FirstResponseBreached, tk.ResolutionBreached)
	}
	early := due.Add(-time.Hour)
	tk.FirstRespondedAt = &early
	tk.Evaluate(due.Add(3 * time.Hour))
	if tk.FirstResponseBreached || !tk.ResolutionBreached {
		t.Errorf("responded early, unsolved late: fr=%v res=%v", tk.FirstResponseBreached, tk.ResolutionBreached)
	}
}
