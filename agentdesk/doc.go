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
// # Tasks
//
// A desk holds several tasks at once: a call (channel voice or callback)
// and tasks of other channels (chat, email, ticket, lead, …) up to the
// agent's capacity per channel. The call keeps its call.* messages; every
// other channel's tasks have their own, each naming the task and its
// channel: task.offered (the pop, one per task, with the ring deadline and
// the customer's CRM identity), task.state (active, wrap-up, transferred,
// ended), and the commands task.accept, task.reject, task.complete,
// task.transfer (to a queue or an agent) and task.wrapup. The hub's model
// keeps, per agent, the tasks on the desk with their pops; agent.snapshot
// lists them and every status carries the agent's capacity and load per
// channel, sent again whenever the load changes. The supervisor feed
// names each waiting entry's channel and each agent's capacity, load and
// tasks, from which the wallboard shows tasks waiting and occupancy per
// channel. These only added members to existing messages, so the protocol
// version stays 1. The ACD adapter takes the capacities from the engine's
// snapshot and its AgentCapacityChanged events (login, an override set
// over REST, a reload), and sends the agent's status again on each.
//
// # Concurrency
//
// The hub owns the connection registry (desktop connection per agent,
// supervisor set, reconnect grace timers) and a model of the floor
// (agents, queues, waiting calls, offers, calls, wrap-ups, tasks) built from the
// engine's snapshot and events, all guarded by one mutex that nothing
// outside the hub takes: Hub.Run's goroutine holds it to register
// connections, answer the readers' model reads (Hub.do), run the timers
// and apply the engine's changes; Revoke and the connection goroutines
// hold it only to end a session. The engine never calls into the hub.
//
// The engine's changes arrive through a Feed (EventSource.Subscribe): the
// engine queues them without blocking and signals; Run takes everything
// pending per wake-up, translates it (the ACD adapter does so as it is
// taken, on Run's goroutine), updates the model and queues each agent's
// messages on that agent's connection. A screen pop thus crosses two
// goroutines after the routing decision, the hub's and the desk's writer,
// each woken directly, and a batch of changes costs one wake-up of each.
// Supervisors get coalesced deltas: a ticker (FlushInterval) sends one
// message per dirty queue and agent. If the feed ends (the engine stopped,
// or the hub fell behind and changes were lost), the hub subscribes again
// and pushes fresh snapshots to everyone.
//
// Each connection has one reader and one writer goroutine (as in gorilla's
// chat example). The reader decodes, rate-limits, authorizes and executes
// commands, calling the engine directly (its methods are actor calls) and
// the hub only for quick reads of the model (Hub.do). The writer is the
// only goroutine that writes data frames: woken through a signal channel
// of capacity one, it writes everything queued, in order, with a write
// deadline (Config.WriteWait), and sends pings. Queueing never blocks: the
// queue is bounded (Config.SendBuffer messages; it grows with what is
// pending, so an idle connection holds no buffer for the garbage collector
// to scan). Supervisor deltas that no longer fit are replaced by one fresh
// snapshot, so a slow wallboard catches up. A connection is closed by the
// server only when its queue is full (4001 "resync": the client reconnects
// and redraws from the snapshots), when its socket has taken nothing for
// WriteWait, when it has answered no ping for 2.5 PingIntervals, when the
// same agent connects again, or at shutdown; each such close is logged
// with agent_id and reason and counted in
// switchboard_agentdesk_disconnects_total{reason}. A desk that keeps
// reading is never closed.
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
// and EventSource (snapshot + a Feed of changes in the hub's vocabulary).
// ACD adapts *acd.Engine to both, mapping the engine's events to the
// hub's own wire types; package agentdesktest has an in-memory fake.
// Softphones (WebRTC leg per agent), Listener (listen-in) and Tickets
// (wrap-up tickets) are declared here and wired by cmd/switchboard to the
// SIP gateway and the CRM; so is CampaignDesk, the outbound dialer's
// preview campaigns (campaign.preview hands the agent a contact to see,
// campaign.dial calls it as a click-to-dial). Authenticator verifies session tokens and
// passwords; CRMAuth adapts crmcore.Auth.
package agentdesk
