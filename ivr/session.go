package ivr

import (
	"context"
	"time"
)

// Session is one live call as the IVR sees it. The SIP gateway implements it on its call
// type; package ivrtest has a scripted fake. The call's context (passed to Run) is cancelled
// on hang-up.
type Session interface {
	// Play plays the WAV files in order. With interruptible set it returns nil as soon as a
	// DTMF digit arrives; that digit stays queued for ReadDigit. Returns an error when ctx
	// ends / caller hung up.
	Play(ctx context.Context, files []string, interruptible bool) error
	// ReadDigit returns the next queued DTMF digit ('0'-'9', '*', '#', 'A'-'D'), waiting up to
	// timeout. ok is false on timeout; err is non-nil only when ctx ended or the call is gone.
	ReadDigit(ctx context.Context, timeout time.Duration) (digit byte, ok bool, err error)
	// Record records the caller's audio to file (8 kHz WAV) until max elapses, '#' is pressed
	// or the caller hangs up; it returns the recorded length.
	Record(ctx context.Context, file string, max time.Duration) (time.Duration, error)
}

// Lookup is the data dip a lookup node makes. The CRM is adapted to it in cmd/switchboard;
// tests use ivrtest.Lookup. Each method reports found=false with a nil error when the
// record does not exist, and a non-nil error only when the lookup itself failed.
type Lookup interface {
	// LookupCaller finds the contact that owns the calling number (E.164 when known, else
	// the raw ANI).
	LookupCaller(ctx context.Context, ani string) (c Caller, found bool, err error)
	// LookupTicket finds a ticket by the number the caller entered.
	LookupTicket(ctx context.Context, number string) (t Ticket, found bool, err error)
}

// CallbackPolicy vets the numbers a caller asks to be called back on: the outbound dial
// plan, adapted in the ACD. A callback node accepts no number it refuses, and the caller
// hears why (the node's refused_prompts).
type CallbackPolicy interface {
	// CheckCallback returns number in the form to dial (E.164), or an error when it may
	// not be called back.
	CheckCallback(number string) (string, error)
}

// Caller is what a caller lookup returns; the IVR exposes it as contact.* variables.
type Caller struct {
	// ContactID is the CRM contact id (contact.id).
	ContactID string
	// Name is the contact's display name (contact.name).
	Name string
	// Segment is the customer segment, e.g. "vip" (contact.segment).
	Segment string
	// OpenTickets counts the contact's open tickets (contact.open_tickets).
	OpenTickets int
}

// Ticket is what a ticket lookup returns; the IVR exposes it as ticket.* variables.
type Ticket struct {
	// Number is the ticket number as the caller knows it (ticket.number).
	Number string
	// Status is the ticket status, e.g. "open", "pending", "solved", "closed" (ticket.status).
	Status string
	// Subject is the ticket's subject line (ticket.subject).
	Subject string
}
