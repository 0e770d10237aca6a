// Package webcall lets a customer call the contact center from a browser over WebRTC:
// a page with a "Call us" button, an optional who-are-you form, a keypad for the IVR,
// mute and hang-up, and a button any site embeds to open it. The call itself is an
// ordinary call leg: the Dialer (cmd/switchboard, over the SIP gateway) answers the
// browser's offer and runs the call through the IVR entry point, the queues and the
// records like a phone call. The package knows nothing of SIP or media.
//
// # Routes
//
//	GET  /call             the page (standalone, or framed by an allowed origin)
//	GET  /call/call.js     its script; GET /call/call.css its style
//	GET  /call/button.js   the floating button a host site embeds (any site may load it)
//	POST /call/offer       place a call (below)
//	OPTIONS /call/offer    CORS preflight: allowed origins may post from their own pages
//
// The page reads entry=<name>&token=<token> from its URL fragment (button.js puts them
// there from its data-entry and data-token attributes).
//
// # Placing a call
//
// POST /call/offer with Content-Type application/json and one object:
//
//	{"sdp": "<offer>", "entry": "web", "name": "", "email": "", "phone": "", "token": ""}
//
// sdp is the browser's offer with ICE gathering complete (non-trickle), at most 64 KiB;
// entry a WebRTC entry point of the IVR flows (Config.Entry when empty); the rest is
// optional. Unknown fields, trailing data, non-UTF-8 bytes and bodies past the cap are
// refused. On success the answer is 200 {"sdp": "<answer>", "call_id": "…"}; every
// refusal is {"error": {"code", "message", "field"}} with its status:
//
//	400 bad_request, bad_sdp, bad_entry, invalid_field (field: name, email or phone)
//	401 bad_token, token_expired        403 origin_not_allowed
//	404 unknown_entry                   405 method_not_allowed
//	413 too_large                       415 unsupported_media_type
//	429 rate_limited (Retry-After)      503 busy (Config.MaxCalls), unavailable
//	504 timeout                         500 call_failed
//
// The message is written for the caller and shown by the page as is.
//
// # Caller identity
//
// A host site that knows its visitor vouches for them with a token; the call is then
// Verified and the form is not shown. The token is
//
//	base64url(payload) "." base64url(HMAC-SHA256(secret, base64url(payload)))
//
// base64url without padding, the MAC taken over the encoded payload, the secret being
// Config.TokenSecret (shared with the host site, at least 16 bytes). The payload is a
// JSON object of name, email, phone (each optional, checked as the form's fields) and
// exp (required: Unix seconds, at most Config.TokenMaxLifetime ahead; mint one per page
// view, valid for minutes); any other field is refused. Minting it in Node.js:
//
//	const p = Buffer.from(JSON.stringify({name, email, phone, exp: Math.floor(Date.now() / 1000) + 600})).toString('base64url');
//	const token = p + '.' + crypto.createHmac('sha256', secret).update(p).digest('base64url');
//
// in Python:
//
//	p = base64.urlsafe_b64encode(json.dumps({"name": name, "exp": int(time.time()) + 600}).encode()).rstrip(b"=")
//	token = (p + b"." + base64.urlsafe_b64encode(hmac.digest(secret, p, "sha256")).rstrip(b"=")).decode()
//
// and in Go with SignToken. A forged, malformed or expired token is refused with 401
// (never silently downgraded to an anonymous call); without a secret every token is
// refused. Without a token, the form's name, email and phone are checked for shape
// (lengths, an email address, digits and + ( ) . - in a phone number), control
// characters dropped, and passed on unverified.
//
// # Limits
//
// In order, before any work: the content type; the Origin (absent, this server's own
// host, or one of Config.AllowedOrigins, "*" allowing any: the same rule as the web
// chat's); a token bucket per client address, an IPv6 /64 counting as one
// (Config.RatePerMinute, RateBurst). Then the body's cap and strict decoding, the token
// or the form, and a slot under Config.MaxCalls, held until the Dialer's Answer.Done is
// closed. The Dialer's negotiation is bounded by Config.AnswerTimeout; a panic in it
// refuses the call. The page is served with a Content-Security-Policy allowing only its
// own script, style and endpoint, and framing by the allowed origins only.
//
// # Concurrency
//
// Requests are served on net/http's goroutines. The count of calls in progress is under
// the Handler's lock; each placed call has one goroutine that waits for its end (or for
// Close) and gives its slot back. Close waits for them.
package webcall
