package ivr

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is wrapped by every error Load returns for a flows file with problems.
var ErrInvalid = errors.New("ivr: invalid flows")

// Severity says whether a Problem stops a flows file from loading.
type Severity uint8

// The severities.
const (
	// SeverityError rejects the file.
	SeverityError Severity = iota
	// SeverityWarning is reported but the file still loads (e.g. an unreachable node).
	SeverityWarning
)

// String returns "error" or "warning".
func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// Problem is one finding of the loader or validator, with its position.
type Problem struct {
	// File is the flows file.
	File string
	// Line is the 1-based line in File (0 when unknown).
	Line int
	// Flow is the flow the problem is in ("" for file-level problems).
	Flow string
	// Node is the node the problem is in ("" when not about one node).
	Node string
	// Severity says whether the problem rejects the file.
	Severity Severity
	// Reason explains the problem.
	Reason string
}

// String formats the problem as "file:line: severity: flow F node N: reason".
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	b.WriteString(p.Severity.String())
	b.WriteString(": ")
	var where []string
	if p.Flow != "" {
		where = append(where, "flow "+p.Flow)
	}
	if p.Node != "" {
		where = append(where, "node "+p.Node)
	}
	if len(where) > 0 {
		b.WriteString(strings.Join(where, " "))
		b.WriteString(": ")
	}
	b.WriteString(p.Reason)
	return b.String()
}

// ValidationError is the error Load returns when a file has error-severity problems. It
// wraps ErrInvalid.
type ValidationError struct {
	// Problems are all problems found, errors and warnings, in file order.
	Problems []Problem
}

// Error summarises the first error and the count.
func (e *ValidationError) Error() string {
	n := 0
	var first *Problem
	for i := range e.Problems {
		if e.Problems[i].Severity == SeverityError {
			if first == nil {
				first = &e.Problems[i]
			}
			n++
		}
	}
	if first == nil {
		return ErrInvalid.Error()
	}
	if n == 1 {
		return fmt.Sprintf("%v: %s", ErrInvalid, first)
	}
	return fmt.Sprintf("%v: %s (and %d more)", ErrInvalid, first, n-1)
}

// Unwrap returns ErrInvalid.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// HasErrors reports whether any problem has error severity.
func HasErrors(ps []Problem) bool {
	for _, p := range ps {
		if p.Severity == SeverityError {
			return true
		}
	}
	return false
}
