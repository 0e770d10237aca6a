package crmcore

import "testing"

// TestCallRecordID: the same call's signalling gives the same valid id on
// every node; another call, caller or number gives another.
func TestCallRecordID(t *testing.T) {
	id := CallRecordID("a84b4c76e66710@pc33.atlanta.com", "14155550100", "18005550100")
	if !ValidID(id) || id[14] != '8' {
		t.Fatalf("id %q is not a version 8 UUID", id)
	}
	if again := CallRecordID("a84b4c76e66710@pc33.atlanta.com", "14155550100", "18005550100"); again != id {
		t.Errorf("same call: %s then %s", id, again)
	}
	seen := map[string]bool{id: true}
	for _, other := range [][3]string{
		{"a84b4c76e66711@pc33.atlanta.com", "14155550100", "18005550100"},
		{"a84b4c76e66710@pc33.atlanta.com", "14155550101", "18005550100"},
		{"a84b4c76e66710@pc33.atlanta.com", "14155550100", "18005550101"},
		{"a84b4c76e66710@pc33.atlanta.com1", "4155550100", "18005550100"},
	} {
		o := CallRecordID(other[0], other[1], other[2])
		if seen[o] {
			t.Errorf("%v collides", other)
		}
		seen[o] = true
	}
}
