package pgstore

import (
	"errors"
	"testing"
)

func TestMemberRoleTransitions(t *testing.T) {
	allowed := map[[2]memberRole]bool{
		{roleStandby, roleLeader}: true,
		{roleStandby, roleGone}:   true,
		{roleLeader, roleGone}:    true,
	}
	for from := memberRole(0); from < numMemberRoles; from++ {
		for to := memberRole(0); to < numMemberRoles; to++ {
			t.Run(from.String()+"→"+to.String(), func(t *testing.T) {
				err := from.To(to)
				if want := allowed[[2]memberRole{from, to}]; want != (err == nil) {
					t.Fatalf("got %v, want allowed=%v", err, want)
				}
				if err != nil && !errors.Is(err, ErrRoleTransition) {
					t.Fatalf("error %v does not wrap ErrRoleTransition", err)
				}
			})
		}
	}
	if got := memberRole(9).String(); got != "memberRole(9)" {
		t.Errorf("String() = %q", got)
	}
}
