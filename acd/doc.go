// Package acd is the automatic call distributor: a task router. It owns
// every queued call's and task's routing and every agent's state, decides
// who gets which, and explains why. The journey before and around the queue (IVR, CRM
// lookup, hold music, survey, interaction records) is a channel of its
// own, in package acd/voice; the engine imports neither ivr nor crmcore
// and parses no phone number: the entry resolves the caller's number once
// (ResolveNumber) and the request carries the result (CallRequest.Caller).
//
// # Tasks and channels
//
// A call is a task of channel voice (callback once it is a virtual
// caller); a task of any other channel (chat, email, ticket, lead, or
// another name) enters with Submit, carrying its routing attributes, the
// customer's CRM identity and an opaque Handle of the adapter that owns
// it. The engine knows a channel only by its name and its capacity rule.
// Voice and callback belong to the voice machine (Ringer, Bridger,
// AgentState); any other channel registers a ChannelAdapter with
// WithChannel, which is told, from the engine's goroutines, to offer a
// task, that it was accepted, and that it ended. The agent answers an
// offer with Accept or RejectTask; Complete ends the work (wrap-up
// follows), Withdraw ends it from the customer's side. Wrap-up belongs to
// a task and an agent: after TransferTask the transferring agent wraps up
// their own part (recorded with outcome transferred) while the task goes
// on with its next agent, and WrapTask names the agent whose part it
// records and, in wrap-up, ends. Calls and tasks share queues, the global
// waiting order, relaxation, statistics, events (CallQueued, CallOffered,
// CallAnswered, CallEnded and InteractionCompleted name the channel) and
// records. A task's own state (TaskState: waiting, offered, active,
// wrap-up, done) is published as TaskStateChanged; the agent's AgentState
// keeps describing their call only, and presence stays per agent.
//
// Adopt registers a task its agent accepted before the engine started (a
// ticket or lead still theirs in the CRM after a restart): it is active
// at once, with no offer and without the adapter's Offer or Accept, and
// holds capacity as any task does (beyond the agent's capacity if need
// be). An agent the engine does not know yet holds it offline, as one who
// logged out while holding work does; they are not logged in until Login,
// which keeps what they hold.
//
// # A new leader
//
// In a cluster one node's engine routes for all; when it dies, a new
// leader starts a fresh Engine and every node re-announces its live calls
// to it. A waiting call comes back through Enqueue with the time it
// joined its queue (CallRequest.Queued) and keeps its place: its order
// among the waiting calls is set between those of the calls queued just
// before and just after it (midway), so calls re-announced in any order
// by several nodes end up in the order they queued, ahead of the calls
// queued since the takeover. It ages from that time; the relaxation steps
// already due are applied at once, in order (CallRelaxed follows
// CallQueued), the others armed for the time left; max_wait is armed for
// the time left, and a call that has waited it already overflows before
// it is routed. A call in progress (media bridged on its node) comes back
// through AdoptCall: connected to its agent at once, with no offer and no
// answer counted, the agent registered offline if the engine does not
// know them (as for Adopt); the engine watches it and runs Bridger.Bridge
// as after an answer, and it ends, wraps up and is recorded as any
// answered call.
//
// # Capacity
//
// Each agent holds up to a capacity per channel: Config.Capacity's rule
// (built-in defaults voice 1, callback 1, chat 3, email 5, ticket 10,
// lead 5, otherwise 1) unless AgentSpec.Capacity overrides it (at Login,
// or later with SetCapacity); the voice machine holds one call, so voice
// and callback above 1 act as 1. An agent's effective capacity per
// channel is on their Snapshot entry and published as
// AgentCapacityChanged after Login, SetCapacity and a Reload that changes
// it. Lowering a capacity ends nothing: tasks held continue and new
// offers wait until the agent holds fewer. A blocking channel (voice and
// callback by default) stops every other offer while the agent holds one
// of its tasks (offered, active or in wrap-up); tasks already open
// continue. CapacityConfig.Total optionally caps the tasks held across
// channels. The routing index gets, per agent, availability (ready,
// nothing blocking, under the cap), a bit per full channel and the share
// of capacity in use, which scales the occupancy factor of the score:
// workload routing sees every channel. An agent who gains room is offered
// waiting tasks in global order until they are full or blocked.
//
// # Concurrency
//
// Engine is an actor. One goroutine owns queues, waiting calls, offers and
// agent states; exported methods send it a command (a closure) and wait
// for the result, so every routing decision is race-free and, under a fake
// Clock, deterministic. The actor never blocks on I/O: ringing an agent
// (Ringer), bridging (Bridger), dialling (Dialer), taking voicemail and
// hanging up run in goroutines the engine spawns and tracks; they report
// back by posting commands. A caller's hang-up is noticed through its
// leg's Context (context.AfterFunc) and withdraws the call everywhere:
// pending rings are cancelled, reserved agents released. Timers (ring
// timeout, wrap-up, relaxation, max wait, sticky window, announcements,
// statistics ticks) come from the injected Clock and also post commands.
// The actor runs no consumer code and takes no adapter's lock: its events
// leave it through subscriptions (see Events). Close cancels every
// goroutine, waits for them and ends every subscription.
//
// # Events
//
// Every transition is published as a typed event (pointer to a struct in
// events.go) with a sequence number. There is one way to receive them:
// Subscribe returns a Subscription and a snapshot consistent with the
// first event it hands over. Publishing never blocks and runs no
// subscriber code: the actor appends the event to each subscription's
// queue (a short critical section on a lock private to the subscription)
// and signals its Ready channel (capacity one); the subscriber takes
// everything pending at once with Take, on its own goroutine. A queue that
// reaches SubscribeOptions.Buffer is emptied and given ResyncRequired;
// nothing more is queued until the subscriber calls Resync, which returns
// a fresh snapshot (the engine logs the overflow and counts it).
//
// Interaction records are not allowed to be lost, so they travel the same
// way with a guarantee: a subscription with SubscribeOptions.Records keeps
// every InteractionCompleted, beyond the bound, through an overflow and
// while a resync is pending. Records are one per call and small, so that
// queue may grow where the others drop; keeping one mechanism (instead of
// a callback on the actor or a second hand-off) means the engine never
// runs consumer code and a record is ordered with the events around it.
// Shutdown completes every open interaction before it returns, so a
// Records subscriber that takes what is pending afterwards has them all.
//
// CallOffered carries all a screen pop needs (CallInfo with ANI, E.164,
// geography, IVR path and variables, the entry's Data), the time
// waited, the routing reasons, the expected wait and the offer's ring
// deadline; AgentStateChanged carries the call's queue and the wrap-up's
// end; QueueStats carry the queue's service-level target, so consumers
// need not read the engine's configuration. InteractionCompleted carries
// the call's summary once wrap-up is over (disposition and notes
// included). Event and snapshot types carry no wire encoding: adapters
// map them to their own.
//
// # State machines
//
// Presence (chosen by the agent), AgentState (driven by calls),
// CallState and TaskState are explicit machines with transition tables
// (state.go); To(next) refuses edges not in the table with an error
// wrapping ErrTransition. The engine changes these fields only through
// them (setPresence, setState, setCallState, setTaskState): a refused
// transition is returned and changes nothing. Where one step moves two
// machines (hold, an offer) both are asked before either changes.
//
// # Routing
//
// Routing is delegated to package routing: agents live in an index by
// skill; when a call or task arrives the best eligible agent with room
// on its channel is chosen by the queue strategy's weights, and when an
// agent becomes free the first waiting call or task it may take, in
// global order (priority, then time waiting), is offered to it. A
// missed or rejected offer releases the agent, counts toward the
// missed-offer rule (not-ready "missed" after Config.MissedOffers in a
// row) and sends the call back to the head of its queue for the next
// best agent. Relaxation steps lower levels, drop skills, widen geography
// or add an overflow queue's agents without losing the caller's place.
//
// # Explicit answer
//
// Ringer.Ring returns when the agent answers. For endpoints that are
// already connected and need the agent to accept in the desk (a WebRTC
// softphone), the desk calls Engine.Answer, which closes Offer.Accept;
// such a Ringer waits on it before returning the leg. Engine.Reject fails
// the offer at once.
//
// # Dial plan
//
// With WithDialPlan every number the engine would dial is checked first
// against package dialplan, for the role on whose behalf it is dialled
// (DialRole): the agent role, or the supervisor role for an agent whose
// AgentSpec.Supervisor is set. Click-to-dial and transfers to a number
// fail with ErrNotPermitted before anything rings (the call's
// CallInfo.Role tells the telephony side the role it was permitted for),
// a callback number is refused at Enqueue (and by the IVR before the
// caller confirms it), and a queue's overflow to callback keeps a caller
// it may not call back waiting. The telephony adapter checks the same
// plan where it dials.
//
// # Simulation
//
// Quiet reports whether the engine is idle until something external
// happens, which lets package acd/sim drive the real engine with a fake
// clock deterministically.
package acd
