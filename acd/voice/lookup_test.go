package voice

import (
	"context"
	"errors"
	"testing"

	"switchboard/acd"
	"switchboard/crmcore"
)

// countingDir is a Directory that answers caller lookups from a map and
// counts them; the first fail lookups fail.
type countingDir struct {
	Directory
	contacts map[string]string // e164 → contact name
	calls    int
	fail     int
}

func (d *countingDir) LookupByPhone(_ context.Context, e164 string) (crmcore.CallerLookup, error) {
	d.calls++
	if d.fail > 0 {
		d.fail--
		return crmcore.CallerLookup{}, errors.New("pool exhausted")
	}
	name, ok := d.contacts[e164]
	if !ok {
		return crmcore.CallerLookup{}, nil
	}
	return crmcore.CallerLookup{Known: true, Contact: &crmcore.Contact{ID: "c-" + name, Name: name}}, nil
}

// TestIVRLookupReusedByPop: the screen pop's lookup of the number the IVR
// already looked up costs no second CRM round trip; another number, or one
// whose lookup failed, is looked up again.
func TestIVRLookupReusedByPop(t *testing.T) {
	ctx := t.Context()
	dir := &countingDir{contacts: map[string]string{"+12025550101": "Ada"}, fail: 1}
	l := &ivrLookup{crm: dir, resolve: func(ani string) acd.Geography { return acd.ResolveNumber(ani, "US") }}
	if _, _, err := l.LookupCaller(ctx, "+12025550101"); err == nil {
		t.Fatal("first lookup should fail")
	}
	c, found, err := l.LookupCaller(ctx, "(202) 555-0101")
	if err != nil || !found || c.Name != "Ada" {
		t.Fatalf("IVR lookup = %+v, %v, %v", c, found, err)
	}
	res, err := l.byPhone(ctx, "+12025550101")
	if err != nil || res.Contact == nil || res.Contact.Name != "Ada" {
		t.Fatalf("pop lookup = %+v, %v", res, err)
	}
	if dir.calls != 2 {
		t.Errorf("%d CRM lookups, want 2 (a failed one, then one shared by the IVR and the pop)", dir.calls)
	}
	if res, err := l.byPhone(ctx, "+12025550199"); err != nil || res.Known {
		t.Fatalf("unknown number = %+v, %v", res, err)
	}
	if dir.calls != 3 {
		t.Errorf("%d CRM lookups, want 3 (another number is looked up)", dir.calls)
	}
}
