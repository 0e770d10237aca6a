package crmcore

import "errors"

// Sentinel errors. Adapters map them to HTTP statuses, CTI error events or
// SIP codes; callers test them with errors.Is.
var (
	// ErrNotFound reports that a contact, ticket, agent or interaction does not exist.
	ErrNotFound = errors.New("crmcore: not found")
	// ErrConflict reports a uniqueness violation (a phone number, email, login already taken).
	ErrConflict = errors.New("crmcore: conflict")
	// ErrInvalid reports input that breaks a domain rule; it is wrapped by *FieldError.
	ErrInvalid = errors.New("crmcore: invalid input")
	// ErrInvalidPhone reports a phone number that cannot be normalized; it is wrapped by *PhoneError.
	ErrInvalidPhone = errors.New("crmcore: invalid phone number")
	// ErrInvalidTransition reports a ticket status change outside the transition table; it is wrapped by *TransitionError.
	ErrInvalidTransition = errors.New("crmcore: invalid ticket transition")
	// ErrUnauthenticated reports a wrong login/password or an unknown, expired or revoked token.
	ErrUnauthenticated = errors.New("crmcore: unauthenticated")
	// ErrForbidden reports an authenticated agent whose role lacks the permission.
	ErrForbidden = errors.New("crmcore: forbidden")
	// ErrBusy reports a login refused because every password check slot
	// stayed taken too long (a login storm); the client should retry shortly.
	ErrBusy = errors.New("crmcore: busy checking passwords")
)

// FieldError is a validation failure tied to one input field. It wraps ErrInvalid
// (or ErrInvalidPhone when Err says so).
type FieldError struct {
	Field  string // JSON/CSV field name, e.g. "phones[0]"
	Reason string // human-readable reason
	Err    error  // underlying sentinel; ErrInvalid when nil
}

// Error implements error.
func (e *FieldError) Error() string {
	return "crmcore: " + e.Field + ": " + e.Reason
}

// Unwrap returns the sentinel this error wraps.
func (e *FieldError) Unwrap() error {
	if e.Err != nil {
		return e.Err
	}
	return ErrInvalid
}

// invalid builds a *FieldError wrapping ErrInvalid.
func invalid(field, reason string) error {
	return &FieldError{Field: field, Reason: reason}
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
