// Package sim is a discrete-event simulator that drives the real acd
// Engine with a fake clock and the acdtest fakes: Poisson arrivals per
// queue, lognormal or exponential handle times, exponential patience
// (abandonment), agent pools with skill mixes. It measures service level,
// ASA, abandon rate and occupancy per queue, for one or every routing
// strategy.
//
// # Determinism
//
// The simulator owns time. Each step it waits until the engine is Quiet
// (no queued command, every I/O goroutine blocked on a live context),
// then advances the fake clock to the earliest pending event: an arrival,
// an abandonment, the end of a conversation, or an engine timer. Agents
// answer at once (ring time zero). Random draws come from one seeded PCG
// source in a fixed order, so a seed reproduces the same traffic.
package sim
