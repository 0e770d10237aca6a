package voice

import (
	"context"
	"errors"

	"switchboard/acd"
	"switchboard/crmcore"
	"switchboard/ivr"
)

// ivrLookup adapts the CRM to one call's IVR data dips. It keeps the last
// caller lookup that succeeded, which the queue's screen pop reuses: one
// round trip to the CRM per call instead of two (the IVR runs seconds
// before the queue; the pop shows the record as the IVR saw it). A call's
// IVR and journey run on one goroutine, so it needs no lock.
type ivrLookup struct {
	crm Directory
	// resolve parses a number; ani is the call's own number and caller
	// its geography, resolved already and not parsed again.
	resolve func(ani string) acd.Geography
	ani     string
	caller  acd.Geography
	// contact is the CRM contact of a web caller who said who they are
	// (webCustomer): the call's own caller is looked up by it rather than
	// by the call's number. "" for every other call.
	contact string

	key    string // what last was looked up by: a number, or contactKey
	last   crmcore.CallerLookup
	cached bool
}

// contactKey is the cache key of the lookup by the web caller's contact;
// no number is spelt like it.
const contactKey = "contact"

// byPhone is the CRM's LookupByPhone, answered from the call's last
// successful lookup of the same number when there is one.
func (l *ivrLookup) byPhone(ctx context.Context, e164 string) (crmcore.CallerLookup, error) {
	return l.cache(ctx, e164, func(ctx context.Context) (crmcore.CallerLookup, error) { return l.crm.LookupByPhone(ctx, e164) })
}

// own is the CRM lookup of the call's own caller: by the web caller's
// contact when there is one, else by the call's number (none: unknown).
func (l *ivrLookup) own(ctx context.Context) (crmcore.CallerLookup, error) {
	dir, ok := l.crm.(CustomerDirectory)
	if l.contact == "" || !ok {
		if l.caller.E164 == "" {
			return crmcore.CallerLookup{}, nil
		}
		return l.byPhone(ctx, l.caller.E164)
	}
	return l.cache(ctx, contactKey, func(ctx context.Context) (crmcore.CallerLookup, error) {
		return dir.LookupByContact(ctx, l.contact)
	})
}

// cache answers a lookup by key from the call's last successful one by
// the same key, else asks the CRM (lookup) and keeps the answer.
func (l *ivrLookup) cache(ctx context.Context, key string, lookup func(context.Context) (crmcore.CallerLookup, error)) (crmcore.CallerLookup, error) {
	if l.cached && l.key == key {
		return l.last, nil
	}
	res, err := lookup(ctx)
	if err == nil {
		l.key, l.last, l.cached = key, res, true
	}
	return res, err
}

// LookupCaller implements ivr.Lookup: the CRM contact owning ani (the
// call's own number, or another one the flow names).
func (l *ivrLookup) LookupCaller(ctx context.Context, ani string) (ivr.Caller, bool, error) {
	var res crmcore.CallerLookup
	var err error
	if ani != "" && (ani == l.ani || ani == l.caller.E164) {
		res, err = l.own(ctx)
	} else if geo := l.resolve(ani); geo.E164 != "" {
		res, err = l.byPhone(ctx, geo.E164)
	}
	if err != nil {
		return ivr.Caller{}, false, err
	}
	if !res.Known || res.Contact == nil {
		return ivr.Caller{}, false, nil
	}
	return ivr.Caller{ContactID: res.Contact.ID, Name: res.Contact.Name, Segment: string(res.Contact.Segment), OpenTickets: len(res.OpenTickets)}, true, nil
}

// LookupTicket implements ivr.Lookup: the ticket numbered number.
func (l *ivrLookup) LookupTicket(ctx context.Context, number string) (ivr.Ticket, bool, error) {
	n, err := crmcore.ParseTicketNumber(number)
	if err != nil {
		return ivr.Ticket{}, false, nil
	}
	t, err := l.crm.GetTicket(ctx, n)
	if errors.Is(err, crmcore.ErrNotFound) {
		return ivr.Ticket{}, false, nil
	}
	if err != nil {
		return ivr.Ticket{}, false, err
	}
	return ivr.Ticket{Number: t.Number, Status: t.Status.String(), Subject: t.Subject}, true, nil
}

// CRMLookup is the IVR's data dips over the CRM outside a call (a chat's
// flow): numbers are read in Region, nothing is cached, and it is safe for
// concurrent use.
type CRMLookup struct {
	CRM    Directory
	Region string
}

var _ ivr.Lookup = CRMLookup{}

func (l CRMLookup) lookup() *ivrLookup {
	return &ivrLookup{crm: l.CRM, resolve: func(ani string) acd.Geography { return acd.ResolveNumber(ani, l.Region) }}
}

// LookupCaller implements ivr.Lookup: the CRM contact owning ani.
func (l CRMLookup) LookupCaller(ctx context.Context, ani string) (ivr.Caller, bool, error) {
	return l.lookup().LookupCaller(ctx, ani)
}

// LookupTicket implements ivr.Lookup: the ticket numbered number.
func (l CRMLookup) LookupTicket(ctx context.Context, number string) (ivr.Ticket, bool, error) {
	return l.lookup().LookupTicket(ctx, number)
}
