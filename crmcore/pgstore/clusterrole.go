package pgstore

import (
	"errors"
	"fmt"
)

// ErrRoleTransition is wrapped by every refused change of a cluster
// member's role (a leader campaigning again).
var ErrRoleTransition = errors.New("pgstore: cluster role transition not allowed")

// memberRole is the life cycle of one cluster member, owned by the
// goroutine that owns its connection: it joins as a standby, becomes the
// leader when it wins a campaign, and is gone once its connection ends
// (left, closed or failed). Leadership ends only with the connection.
type memberRole uint8

const (
	roleStandby memberRole = iota
	roleLeader
	roleGone
	numMemberRoles
)

var memberRoleNames = [numMemberRoles]string{"standby", "leader", "gone"}

// String returns the role's name.
func (r memberRole) String() string {
	if r < numMemberRoles {
		return memberRoleNames[r]
	}
	return fmt.Sprintf("memberRole(%d)", uint8(r))
}

// roleTable lists the allowed transitions.
var roleTable = map[memberRole][]memberRole{
	roleStandby: {roleLeader, roleGone},
	roleLeader:  {roleGone},
	roleGone:    nil,
}

// To returns nil if r may change to next, or an error wrapping
// ErrRoleTransition.
func (r memberRole) To(next memberRole) error {
	for _, n := range roleTable[r] {
		if n == next {
			return nil
		}
	}
	return fmt.Errorf("%w: %s → %s", ErrRoleTransition, r, next)
}
