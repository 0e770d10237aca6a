package crmcore

import (
	"fmt"
	"strings"
	"time"
)

// Account is a company that contacts belong to.
type Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Domain is the company's email domain, lower case: a lead whose
	// email is at this domain belongs to the account.
	Domain  string  `json:"domain,omitempty"`
	Segment Segment `json:"segment"`
	// OwnerID is the agent who owns the account; tickets and leads of the
	// account are offered to them first when the assignment rule says so.
	OwnerID   string    `json:"owner_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// AccountInput is an account as submitted.
type AccountInput struct {
	Name    string  `json:"name"`
	Domain  string  `json:"domain"`
	Segment Segment `json:"segment"`
	OwnerID string  `json:"owner_id"`
}

// MaxDomainLen is the longest account domain (a DNS name).
const MaxDomainLen = 253

// NewAccount validates in and builds an account: the domain is lower-cased
// and the segment defaults to standard. That the owner is an existing
// agent is the store's to check.
func NewAccount(in AccountInput) (Account, error) {
	a := Account{
		Name: strings.TrimSpace(in.Name), Domain: strings.ToLower(strings.TrimSpace(in.Domain)),
		Segment: in.Segment, OwnerID: strings.TrimSpace(in.OwnerID),
	}
	if a.Segment == "" {
		a.Segment = SegmentStandard
	}
	switch {
	case a.Name == "" || len(a.Name) > MaxNameLen || !validLine(a.Name):
		return Account{}, invalid("name", fmt.Sprintf("required, at most %d bytes, no control characters", MaxNameLen))
	case a.Domain != "" && !validDomain(a.Domain):
		return Account{}, invalid("domain", fmt.Sprintf("not a domain name %q", truncate(a.Domain, 64)))
	case !a.Segment.Valid():
		return Account{}, invalid("segment", "want standard or vip")
	case a.OwnerID != "" && !ValidID(a.OwnerID):
		return Account{}, invalid("owner_id", "not a UUID")
	}
	return a, nil
}

// Input returns the account as an input, for updates that merge a patch
// into an existing account.
func (a Account) Input() AccountInput {
	return AccountInput{Name: a.Name, Domain: a.Domain, Segment: a.Segment, OwnerID: a.OwnerID}
}

// validDomain reports whether d (lower case) is a DNS name of at least two
// labels of letters, digits and inner hyphens.
func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(d) > MaxDomainLen || len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
