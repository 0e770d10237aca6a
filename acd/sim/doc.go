// Package sim is a discrete-event simulator that drives the real acd
// Engine with a fake clock and the acdtest fakes: Poisson arrivals per
// queue and channel, lognormal or exponential handle times, exponential
// patience (abandonment), agent pools with skill mixes and capacity
// overrides, and outbound campaigns. It measures service level, ASA,
// abandon rate and occupancy per queue and per channel, occupancy per
// agent, and each campaign's dials, connects and abandonment, for one or
// every routing strategy, one or every capacity rule set of the
// scenario, and one or several staffing levels (the pools scaled).
//
// # Channels
//
// A voice stream enters calls (Engine.Enqueue) answered by the acdtest
// phone. A stream of any other channel (chat, email, …) enters tasks
// (Engine.Submit) through the simulator's ChannelAdapter: a task offer
// is accepted at once (Engine.Accept) and completed when its drawn
// handle time is over (Engine.Complete), after which the queue's wrap-up
// applies; a customer whose patience runs out first withdraws it
// (Engine.Withdraw). How many tasks an agent holds at once (a chat
// concurrency of 3), which channels are blocking and the cap across
// channels are the scenario's capacity rules (acd.capacity, or a named
// rule set of Scenario.Rules), with per-pool overrides. A stream may
// start with a backlog (emails waiting at the start) and carry a
// response-time target: its tasks meet the service level when handled
// within the target, where calls and chats meet it when answered within
// the queue's threshold.
//
// # Outbound campaigns
//
// A scenario may declare campaigns (progressive or predictive) on its
// queues. Package campaign paces each one, with its real rules (calling
// windows in the contacts' zones, the dial plan, a do-not-call list,
// retries, the abandonment cap): after every instant with events, and
// on a tick when nothing happens, the simulator tells it the queue's
// ready and idle agents and starts the dials it asks for. Each dial's
// fate is drawn (a person, a machine, busy, no answer, failed) with its
// time; a person's answer enters the queue through Engine.Enqueue and
// leaves it at the end of the grace (2 s) unless an agent answered:
// that is an abandoned call, whose caller would hear the abandon
// prompt. A machine holds its line for the detection and its
// treatment. The engine has no way to reserve an agent before a dial,
// so progressive dials one line per idle agent with no line already
// dialling for them; in a queue only the campaign feeds, every answer
// then finds an idle agent, as with a reservation. Campaign results
// count the whole run, as the abandonment rules do.
//
// Occupancy is the engine's load, followed from its events: the share
// of an agent's capacity in use across channels (tasks held over
// capacity, summed, at least tasks held over the total cap, at most
// 1), and per channel the tasks held over that channel's capacity.
//
// # Determinism
//
// The simulator owns time. Each step it waits until the engine is Quiet
// (no queued command, every I/O goroutine blocked on a live context),
// then advances the fake clock to the earliest pending event: an arrival,
// an abandonment, the end of a conversation, a dial's result, or an
// engine timer. Agents
// answer at once (ring time zero), and task offers are accepted in the
// order the engine published them. Each arrival stream draws from its
// own source seeded from the scenario's seed, in a fixed order, so a seed
// reproduces the same traffic and adding a stream leaves the others'
// traffic as it was: runs that differ only by chats see the same calls.
// Each campaign draws from a source of its own too, after the streams.
package sim
