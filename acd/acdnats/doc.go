// Package acdnats links the nodes of a Switchboard cluster to the one
// routing engine, run by the leader, over NATS (core NATS: no stream is
// kept; what must survive is in PostgreSQL and in the nodes' own calls).
//
// Every node holds its own calls: their SIP dialogs, media, IVR and
// records. A Node sends the leader each call that finished the IVR
// (Enqueue) and carries out the leader's commands on its legs; the
// Leader is the engine's telephony (acd.Ringer, Bridger, Dialer,
// VoicemailTaker and after-call hook) and runs each of those on the node
// that holds the call. Legs are named on the bus by random handles; the
// leader's view of a leg (its Context) ends when the node reports it
// gone or the node is lost.
//
// # Subjects and order
//
// Nodes publish to PREFIX.acd.up; the leader to PREFIX.acd.node.<hex of
// the node id> and announces itself on PREFIX.acd.leader. Each side takes
// its subject on one subscription, so messages between a node and the
// leader are handled in the order they were sent (a leg's ring result
// before its "gone"). Long operations (ring, bridge, dial, voicemail,
// relay) are one-way messages answered by a result carrying the
// operation's id; the leader cancels one with a cancel message.
//
// # Fencing and takeover
//
// Every message from the leader carries its epoch (PostgreSQL's fencing
// counter). A node ignores the commands of an epoch below the highest it
// has seen, so a deposed leader cannot ring or bridge anything. When a
// node sees a higher epoch it withdraws the rings still in progress and
// re-announces every call whose caller is still on the line: a waiting
// call with the time it joined its queue (it keeps its place), a
// connected call for the engine to adopt with its agent (its bridge runs
// on, and the new leader's bridge command joins it). A waiting call also
// keeps a supervisor's changes: the node keeps what the leader's last
// CallQueued said of it and re-announces its priority whole
// (acd.CallRequest.WholePriority, no second segment bonus) and when it
// was moved to the front (acd.CallRequest.Fronted).
//
// # Lost nodes
//
// Nodes send a heartbeat every NodeOptions.Heartbeat; a node silent for
// LeaderOptions.LostAfter is lost: its operations fail and its legs end,
// so the engine ends its calls and frees their agents. Those calls'
// records are the lost node's; the leader's sweep of PostgreSQL closes
// them (crmcore/pgstore.CloseNodeRecords), so each keeps one record.
//
// # Media across nodes
//
// A SIP phone is rung from the node that holds the caller (registrations
// are in PostgreSQL). An agent's leg on another node (a browser softphone
// connected there) is reached by a relay: that node expects a token, the
// caller's node calls it over SIP at RelayPrefix+token and bridges the
// caller to that call, and the other node bridges it to the agent's leg.
// The Leader is also the engine's Conferencer: a consultation or
// conference is mixed on the node that holds the call's legs (the engine
// rings and dials a call's parties there). A supervisor, whose softphone
// is on the leader's node, monitors another node's call the same way as
// a relay: the leader's node expects a token for the softphone
// (Node.ExpectMonitor), and the call's node dials it and mixes that leg
// into the call (Monitor, messages monitor and unmonitor).
//
// A call's record is the node's: an agent's part before a transfer or a
// conference they left (acd.Interaction.Continued) reaches it as any
// completion, and only the call's last part ends its ownership.
package acdnats
