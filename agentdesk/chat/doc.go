// Package chat is the web chat channel: the customer's widget and WebSocket, the bot
// (the IVR's chat flow shown as text), the queue (a task of channel chat in the routing
// engine), the conversation with the agent, transfers and the close. Every message is
// stored (Store.AppendMessage) before it is delivered or acknowledged.
//
// # Wiring
//
// The engine is built with acd.WithChannel(acd.ChannelChat, service) and handed back with
// Attach. The service is then the engine's adapter of the chat channel: Offer, Accept
// and End come from the engine; a transfer (Engine.TransferTask, asked by the agent's
// desk) comes back as a new Offer and Accept, and the customer is told in between. The
// desk's hub calls AgentSend, AgentTyping, AgentRead and History for the agent it
// authenticated, and receives the customer's side through Options.OnAgentEvent.
// SetDisposition stores the agent's wrap-up disposition.
//
// # Customer protocol
//
// GET /chat/ws upgrades to a WebSocket carrying JSON frames {"type": …, "data": …}.
//
// Client to server:
//
//	start   {name, email, phone, language}   open a chat (the pre-chat form; all optional)
//	resume  {token, after_seq}               rejoin a chat; messages after after_seq are replayed
//	message {text, client_id}                a message; a resend with the same client_id is not stored twice
//	button  {value}                          a quick reply of the bot's last message
//	typing                                   the customer is typing
//	read    {seq}                            the customer has read up to seq
//	close                                    end the chat
//
// Server to client:
//
//	welcome   {token, conversation_id}   after start or resume; keep the token to resume
//	message   crmcore.ChatMessage        a message (replayed ones too), ordered by seq
//	delivered {client_id, seq}           the customer's message is stored as seq
//	queue     {position, ewt_s}          the chat's place while it waits
//	typing    {from: "agent"}            the agent is typing
//	read      {seq}                      the agent has read up to seq
//	error     {code, message}            bad_request, too_large, bad_text, empty, rate_limited,
//	                                     no_conversation, bad_token, closed, unavailable, not_now,
//	                                     already_started, internal; the socket stays open
//	closed                               the chat is over; the server closes the socket
//
// A token is "<conversation id>.<expiry>.<HMAC-SHA256>" (base64url) under
// Options.Secret, valid for a day; any node with the same secret accepts it, the
// conversation being in the Store, and rebuilds the live conversation from it. A
// conversation whose bot ran on a node that is gone starts its flow again.
//
// Limits: frames of at most 64 KiB (a larger one closes the socket), texts of at most
// crmcore.MaxChatText bytes of UTF-8 (control characters but newline and tab dropped),
// customer messages per conversation (Options.MessageRate), conversations started per
// remote address (Options.StartRate; the error rate_limited), sockets of a remote address
// in no conversation yet (Options.MaxPendingPerAddress; 429 before the upgrade) and for
// how long (Options.HelloWait; then closed), sockets per conversation
// (Options.MaxSocketsPerChat), sockets at once (Options.MaxCustomers; 503), origins
// (Options.AllowedOrigins; 403). A resume with a valid token counts against its
// conversation only, never against its address's starts: a customer whose network comes
// and goes, or many customers behind one address, resume freely. GET /chat/widget.js is the widget any site
// embeds with one script tag; GET /chat is a page with the widget open.
//
// # Bot
//
// The flow of the chat entry point (ivr.Registry.ForChat, Options.Entry) runs with
// ivr.Run over a session that implements ivr.TextSession: the prompts shown before the
// flow waits for the customer go out as one bot message, a menu's options as its
// buttons; the customer's reply is fed back as digits (ivr.TextPrompt.Reply). The flow's
// timeouts are multiplied by Options.TimeoutScale. A flow ending in a queue submits the
// task; one ending otherwise closes the chat with the OfferEmail text.
//
// # Languages
//
// The service's own texts (system messages, and the labels of a
// confirmation's buttons, which the IVR shows as the digits 1 and 2) come
// in the conversation's language: the pre-chat form's, then the one the
// flow chose when it queued the chat. DefaultTexts has those of the
// languages the IVR's prompts ship in; Options.Texts adds or overrides
// languages; a language without texts gets DefaultLanguage's.
//
// # Concurrency
//
// Each customer socket has one reading goroutine (the HTTP handler's) and one writing
// goroutine fed by a bounded queue; a socket that falls behind is closed and its widget
// resumes. Each conversation has a lock held across its store writes and deliveries, so
// that messages are numbered and delivered in one order, and a resume's replay and its
// attachment happen under it (no message falls in between). The bot runs on its own
// goroutine per conversation. One goroutine refreshes waiting customers' places from the
// engine's Snapshot every Options.QueueInterval, rather than following the engine's
// events: the place of a handful of waiting chats is cheap to read, and a transfer whose
// offer has not come yet is noticed there too. Locks are taken conversation first, then
// the service's; no lock is held across a call into the engine. Panics in these
// goroutines are recovered and logged. Close ends the sockets and bots and waits for
// every goroutine.
package chat
