package voice

import (
	"context"
	"time"

	"switchboard/crmcore"
)

// CustomerDirectory is what a web caller's journey needs from the CRM
// beyond Directory (*pgstore.Store satisfies it): the contact of a
// customer who said who they are, matched as a chat's pre-chat form is,
// and the screen-pop lookup by that contact. A Directory without it gives
// web callers' calls only what a verified number finds.
type CustomerDirectory interface {
	// ContactForCustomer returns the contact with email, else with phone
	// (E.164), else a new one when a name or an email was given; "" when
	// none fits.
	ContactForCustomer(ctx context.Context, name, email, phone string) (contactID string, err error)
	// LookupByContact is LookupByPhone for a caller known by their contact.
	LookupByContact(ctx context.Context, contactID string) (crmcore.CallerLookup, error)
}

// webCustomerTimeout bounds the contact match of a web caller, which runs
// before the IVR speaks: a slow CRM costs the call its CRM data, not its
// greeting.
const webCustomerTimeout = 3 * time.Second

// webCustomer is who a web caller said they are (the page's form, or a
// host site's signed token), for the screen pop, and the id of their CRM
// contact; nil and "" for other calls. A web caller who gave an email or a
// phone is matched to their contact, or one is created for them; the
// phone they gave, when it parses, becomes the number on the call's
// record (rec, and the pop's Web.E164 for the record written at the end).
// It stays off the call itself: routing and the IVR never dial a number
// only the caller's word vouches for (a verified number is the call's own
// already). The form's fields come checked from the web side (lengths, one
// line, shapes); the CRM normalises the email again and the phone is
// parsed here. A failed match is logged and the call goes on without CRM
// data.
func (x *Journey) webCustomer(ctx context.Context, call Call, rec *crmcore.Interaction) (*WebCaller, string) {
	w, ok := call.(WebCall)
	if !ok || w.WebEntry() == "" {
		return nil, ""
	}
	web := &WebCaller{}
	web.Name, web.Email, web.Phone, web.Verified = w.WebCaller()
	if web.Phone != "" {
		web.E164 = x.resolve(web.Phone).E164
	}
	if web.E164 != "" {
		rec.ANI = web.E164
	}
	dir, ok := x.crm.(CustomerDirectory)
	if !ok || (web.Email == "" && web.Phone == "") {
		return web, ""
	}
	ctx, cancel := context.WithTimeout(ctx, webCustomerTimeout)
	defer cancel()
	id, err := dir.ContactForCustomer(ctx, web.Name, web.Email, web.E164)
	if err != nil {
		x.logger.Warn("voice: web caller not matched to a contact; no CRM data", "call_id", call.ID(), "err", err)
		return web, ""
	}
	rec.ContactID = id
	return web, id
}
