package voice

import (
	"errors"
	"testing"

	"switchboard/acd/dialplan"
)

// TestCallbackPolicy: the IVR's callback check is the dial plan for the
// callback role, answering the number to dial in E.164.
func TestCallbackPolicy(t *testing.T) {
	if (&Journey{}).callbacks() != nil {
		t.Error("a journey without a dial plan gives the IVR a callback policy")
	}
	plan, err := dialplan.New(dialplan.Config{HomeCountry: "US"})
	if err != nil {
		t.Fatal(err)
	}
	cb := (&Journey{opts: Options{DialPlan: plan}}).callbacks()
	if _, err := cb.CheckCallback("+19005551234"); !errors.Is(err, dialplan.ErrDenied) {
		t.Errorf("premium callback = %v, want ErrDenied", err)
	}
	if got, err := cb.CheckCallback("415 555 0101"); err != nil || got != "+14155550101" {
		t.Errorf("national callback = %q, %v; want +14155550101", got, err)
	}
}
