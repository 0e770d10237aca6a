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
// The hub owns the connection registry (desktop connection per agent,
// supervisor set, reconnect grace timers) and a model of the floor (agents,
// queues, waiting calls, offers, calls, wrap-ups) built from the engine's
// snapshot and events, all guarded by one mutex. Hub.Run's goroutine
// registers connections, answers the readers' model reads (Hub.do) and runs
// the timers. The engine's events are applied on the engine's own goroutine
// when the source is a SyncSource (the ACD adapter is): under the hub's
// mutex it updates the model, writes agent events to the concerned
// desktop's socket itself when nothing is queued before them and the
// writer is idle (queues them otherwise), and marks supervisor views dirty.
// A screen pop is thus written by the goroutine that made the routing
// decision: on loaded cores each goroutine hop (engine → hub → socket
// writer) can wait in Go's run queue far longer than the pop itself takes. A plain EventSource's events come through
// a channel to Hub.Run instead. A ticker (FlushInterval) sends one
// coalesced delta per dirty queue and agent to every supervisor. If the
// subscription ends (the engine stopped, or a channel subscriber fell
// behind), the hub subscribes again and pushes fresh snapshots to everyone.
// Holding the mutex, the hub never waits on the engine, and the engine
// waits at most for one of the hub's short model updates.
//
// Each connection has one reader and one writer goroutine (as in gorilla's
// chat example). The reader decodes, rate-limits, authorizes and executes
// commands, calling the engine directly (its methods are actor calls) and
// the hub only for quick reads of the model (Hub.do). The writer writes
// what is queued, in order, applies write deadlines and sends pings; a
// per-connection write lock lets an agent event be written in between
// batches, never ahead of a message queued before it. Sending to a
// connection never blocks: the send queue is bounded (Config.SendBuffer
// messages; it grows with what is pending, so an idle connection holds no
// buffer for the garbage collector to scan), a direct write has a 20 ms
// deadline, and a connection whose queue is full or whose socket cannot
// take a message at once is closed (4001 "resync" for a full queue), after
// which the client reconnects and redraws from the snapshots.
//
// Engine calls the hub makes on its own behalf (withdrawing an offer from an
// agent who disconnected, setting an agent offline after the grace period)
// run in tracked background goroutines so the hub never waits on the
// engine.
//
// # Sessions
//
// A connection authenticates first (a token on the upgrade request, or an
// "auth" or "login" message within Config.AuthTimeout; never a token in the
// URL) and then lives only as long as its session: Hub.Revoke, which
// crmcore.Auth calls on logout, password change, an agent disabled,
// deleted or given another role, closes it with "session.ended" and a close
// code, and the session is verified again every Config.SessionCheck and
// before every supervisor command. See auth.go.
//
// # Engine integration
//
// The hub consumes two small interfaces declared here, Engine (commands)
// and EventSource (snapshot + events in the hub's vocabulary; SyncSource
// applies them on the source's goroutine). ACD adapts *acd.Engine to all
// three; package agentdesktest has an in-memory fake.
// Softphones (WebRTC leg per agent), Listener (listen-in) and Tickets
// (wrap-up tickets) are declared here and wired by cmd/switchboard to the
// SIP gateway and the CRM. Authenticator verifies session tokens and
// passwords; CRMAuth adapts crmcore.Auth.
package agentdesk
