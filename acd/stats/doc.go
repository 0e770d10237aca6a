// Package stats holds the ACD's real-time statistics arithmetic: rolling
// counters per minute, the standard service-level formulas, Erlang C and
// Erlang A queueing models, staffing (agents needed for a target service
// level) and per-caller expected wait time with a confidence range.
//
// Everything here is pure and single-threaded; the acd Engine owns the
// counters from its actor goroutine and publishes copies.
package stats
