// Package dialplan is Switchboard's outbound dial plan: the policy every leg
// dialled out through the trunk passes — callbacks, click-to-dial, transfers
// to a number and campaign calls.
//
// [Plan.Check] normalises a number to E.164 in the home country
// (nyaruka/phonenumbers), puts it in a [Class] (national, toll-free,
// international, premium, emergency, or invalid when the number cannot
// exist) and decides for a [Role] (the party on whose behalf the leg is
// dialled): a denied prefix always refuses, an allowed pattern admits, and
// otherwise the role must be permitted the number's class. Premium-rate
// prefixes (+1900, +1976, +4490, +4491) are always denied; emergency numbers
// are never dialled for callbacks or campaigns.
//
// The same Plan is checked where a person can be told (the IVR before it
// accepts a callback number, the engine before click-to-dial or a transfer)
// and again where the SIP gateway sends the INVITE to the trunk, so nothing
// reaches the trunk unchecked.
//
// A Plan is safe for concurrent use; [Plan.Update] swaps its rules
// atomically (configuration reload).
package dialplan
