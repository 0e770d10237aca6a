// Package agentdesk is the CTI hub: the WebSocket channel (/cti) between the
// ACD engine and agent desktops, supervisor wallboards and third-party CRMs,
// plus the embedded web UI (/ agent desktop, /wallboard).
//
// # Protocol
//
// Versioned JSON envelopes {"v":1,"type":…,"id":…,"data":…}; every command
// gets an "ok" or "error" reply (code, message, offending field), events are
// pushed. PROTOCOL.md documents every message with an example; a test keeps
// the examples and the decoder in step. DecodeCommand validates every inbound
// message and never panics (fuzzed).
//
// # Concurrency
//
// Hub.Run is the hub's one owner goroutine (an actor, like the engine). It
// owns the connection registry (desktop connection per agent, supervisor
// set, reconnect grace timers) and a model of the floor (agents, queues,
// waiting calls, offers, calls, wrap-ups) built from the engine's snapshot
// and events. It applies each engine event to the model, pushes agent events
// straight into the concerned desktop's send queue (a screen pop it writes
// to the socket itself when nothing is queued before it and the writer is
// idle), and marks supervisor views dirty; a ticker (FlushInterval) sends
// one coalesced delta per dirty queue and agent to every supervisor. If the
// engine drops the hub's subscription (the hub fell behind), the hub
// subscribes again and pushes fresh snapshots to everyone.
//
// Each connection has one reader and one writer goroutine (as in gorilla's
// chat example). The reader decodes, rate-limits, authorizes and executes
// commands, calling the engine directly (its methods are actor calls) and
// the hub goroutine only for quick reads of the model (Hub.do). The writer
// writes what is queued, in order, applies write deadlines and sends pings;
// a per-connection write lock lets the hub write a pop in between batches,
// never ahead of a message queued before it. Sending to a connection never blocks: the send queue is bounded
// (Config.SendBuffer messages; it grows with what is pending, so an idle
// connection holds no buffer for the garbage collector to scan), and a
// connection whose queue is full is closed with code 4001 ("resync"),
// after which the client reconnects and redraws from the snapshots.
//
// Engine calls the hub makes on its own behalf (withdrawing an offer from an
// agent who disconnected, setting an agent offline after the grace period)
// run in tracked background goroutines so the hub goroutine never waits on
// the engine.
//
// # Engine integration
//
// The hub consumes two small interfaces declared here, Engine (commands)
// and EventSource (snapshot + events in the hub's vocabulary). ACD adapts
// *acd.Engine to both; package agentdesktest has an in-memory fake.
// Softphones (WebRTC leg per agent), Listener (listen-in) and Tickets
// (wrap-up tickets) are declared here and wired by cmd/switchboard to the
// SIP gateway and the CRM. Authenticator verifies session tokens and
// passwords; CRMAuth adapts crmcore.Auth.
package agentdesk
