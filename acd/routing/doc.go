// Package routing scores agents for calls: the pure, allocation-free core
// of the ACD's routing decisions.
//
// An Index holds every logged-in agent in a dense slot array plus a posting
// list per skill, so a decision only touches the agents that hold the
// rarest required skill. A decision computes one explainable score per
// eligible, available agent:
//
//	score = Σ weight[f] × value[f]   for every Factor f
//
// where each factor value is normalised to [0, 1] (skill level, idle time,
// free occupancy over time and across the capacity of every channel, few
// calls handled, geography, language, time-zone proximity, sticky agent,
// fairness since the last offer). Named strategies
// (longest-idle, least-occupied, fewest-calls, round-robin, top-skill,
// nearest, ring-all) are weightings of the same score: one dominant factor
// plus small tie-breakers. The winner's top contributions are returned as
// Reasons so supervisors and the interaction record can see why.
//
// The package has no goroutines and no locks: the acd Engine owns an Index
// from its single actor goroutine. Decisions do not allocate.
package routing
