package sim

import (
	"time"

	"switchboard/acd"
	"switchboard/acd/stats"
)

// Outcome counts the calls or tasks of a queue or a channel over the
// measured period.
type Outcome struct {
	Offered  int
	Answered int
	// Within meet the service level: answered within the queue's
	// threshold or, for a stream with a response-time target, handled
	// within the target.
	Within    int
	Abandoned int
	// Late are still open at the end of the run and already past their
	// threshold or target: they count as missed.
	Late int
	// ServiceLevel is Within over answered (with a target: handled),
	// abandoned and late (the "offered" formula), 0..1.
	ServiceLevel float64
	// ASA is the mean time to answer (a task: to be accepted).
	ASA time.Duration
	// AbandonRate is abandoned over answered and abandoned.
	AbandonRate float64
}

// QueueResult is one queue's outcome over the measured period, per
// channel of the streams that enter it.
type QueueResult struct {
	Queue   string
	Channel acd.Channel
	Outcome
	// Occupancy is the mean load of the agents qualified for the queue.
	Occupancy float64
	// ErlangC is Erlang C's SL prediction (voice only) if the queue's
	// qualified agents served only this queue (exact for single-skill
	// scenarios without abandonment or wrap-up), from the scenario's
	// nominal rate and mean handle time; ErlangCRealized uses the
	// measured arrival rate and mean handle time of the calls actually
	// generated.
	ErlangC, ErlangCRealized float64
	Agents                   int
}

// ChannelResult is one channel's outcome over the measured period.
type ChannelResult struct {
	Channel acd.Channel
	Outcome
	// Occupancy is the mean share of the channel's capacity in use
	// (tasks held / capacity) of the agents who serve it.
	Occupancy float64
	// Agents serve the channel: they have capacity on it and qualify for
	// a queue that one of its streams enters.
	Agents int
}

// AgentResult is one agent's occupancy over the measured period.
type AgentResult struct {
	Agent acd.AgentID
	Pool  string
	// Occupancy is the mean load: the share of the agent's capacity in
	// use across channels (acd.Config.Capacity), 0..1.
	Occupancy float64
	// Channels is the mean share of each channel's capacity in use, in
	// the order of Result.Channels (0 where the agent has no capacity).
	Channels []float64
}

// Result is one simulation run.
type Result struct {
	Scenario string
	Strategy string
	// Rules names the rule set applied (Options.Rules), empty for the
	// scenario's own acd.capacity.
	Rules    string
	Seed     uint64
	Duration time.Duration
	// Tasks counts the calls and tasks that arrived in the measured
	// period (and the backlog).
	Tasks    int
	Queues   []QueueResult
	Channels []ChannelResult
	Agents   []AgentResult
	// Occupancy is the mean load of all agents.
	Occupancy float64
	// Campaigns are the outbound campaigns' outcomes.
	Campaigns []CampaignResult
}

func qualifies(skills []acd.SkillLevel, q acd.QueueConfig) bool {
	for _, req := range q.Skills {
		ok := false
		for _, s := range skills {
			if s.Skill == req.Skill && s.Level >= req.Level {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// flow is a queue and a channel that calls or tasks enter it by.
type flow struct {
	queue string
	ch    int
}

// flows returns the flows of the scenario: its arrivals, then the
// calls its campaigns' answered dials put in their queues (voice).
func (r *runner) flows() []flow {
	var out []flow
	for _, a := range r.sc.Arrivals {
		out = append(out, flow{a.Queue, r.chanIdx[a.channel()]})
	}
	for _, c := range r.sc.Campaigns {
		out = append(out, flow{c.Campaign.Queue, r.voice})
	}
	return out
}

// serves reports whether agent a serves channel ch (ChannelResult.Agents).
func (r *runner) serves(a *agentRec, ch int) bool {
	if a.caps[ch] == 0 {
		return false
	}
	for _, st := range r.flows() {
		if st.ch != ch {
			continue
		}
		for _, q := range r.cfg.Queues {
			if q.Name == st.queue && qualifies(a.skills, q) {
				return true
			}
		}
	}
	return false
}

// tally is an Outcome being counted.
type tally struct {
	o Outcome
	// judged have met or missed the service level.
	judged int
	wait   time.Duration
	handle float64
}

// add counts rec, whose queue's threshold is thr, at the end of the run.
func (t *tally) add(rec *taskRec, thr time.Duration, end time.Time) {
	t.o.Offered++
	t.handle += rec.handle.Seconds()
	answered := !rec.answered.IsZero()
	if answered {
		t.o.Answered++
		t.wait += rec.answered.Sub(rec.arrived)
	}
	limit, met := thr, rec.answered
	if rec.target > 0 {
		limit, met = rec.target, rec.completed
	}
	switch {
	case rec.abandoned:
		t.o.Abandoned++
		t.judged++
	case !met.IsZero():
		t.judged++
		if met.Sub(rec.arrived) <= limit {
			t.o.Within++
		}
	case !rec.ended && end.Sub(rec.arrived) > limit:
		t.o.Late++
		t.judged++
	}
}

// done computes the rates.
func (t *tally) done() Outcome {
	o := t.o
	if o.Answered > 0 {
		o.ASA = t.wait / time.Duration(o.Answered)
	}
	if t.judged > 0 {
		o.ServiceLevel = float64(o.Within) / float64(t.judged)
	}
	if d := o.Answered + o.Abandoned; d > 0 {
		o.AbandonRate = float64(o.Abandoned) / float64(d)
	}
	return o
}

// summarize computes the results at end.
func (r *runner) summarize(end time.Time) Result {
	res := Result{Scenario: r.sc.Name}
	measured := end.Sub(r.measureFrom).Seconds()
	occ := func(sec float64) float64 {
		if measured <= 0 {
			return 0
		}
		return sec / measured
	}
	var all float64
	for _, a := range r.order {
		ar := AgentResult{Agent: a.id, Pool: a.pool, Occupancy: occ(a.loadSec), Channels: make([]float64, len(r.chans))}
		for i, s := range a.chanSec {
			ar.Channels[i] = occ(s)
		}
		all += ar.Occupancy
		res.Agents = append(res.Agents, ar)
	}
	if len(r.order) > 0 {
		res.Occupancy = all / float64(len(r.order))
	}
	for i, ch := range r.chans {
		cr := ChannelResult{Channel: ch}
		for j, a := range r.order {
			if r.serves(a, i) {
				cr.Agents++
				cr.Occupancy += res.Agents[j].Channels[i]
			}
		}
		if cr.Agents > 0 {
			cr.Occupancy /= float64(cr.Agents)
		}
		res.Channels = append(res.Channels, cr)
	}

	type key struct {
		queue string
		ch    int
	}
	idx := map[key]int{}
	thr := map[string]time.Duration{}
	add := func(name string, ch int, q acd.QueueConfig) {
		idx[key{name, ch}] = len(res.Queues)
		thr[name] = q.ServiceLevel.Threshold.D()
		qr := QueueResult{Queue: name, Channel: r.chans[ch]}
		for j, a := range r.order {
			if qualifies(a.skills, q) {
				qr.Agents++
				qr.Occupancy += res.Agents[j].Occupancy
			}
		}
		if qr.Agents > 0 {
			qr.Occupancy /= float64(qr.Agents)
		}
		res.Queues = append(res.Queues, qr)
	}
	for _, vip := range []bool{false, true} {
		for _, q := range r.cfg.Queues {
			for _, a := range r.sc.Arrivals {
				name, ch := q.Name, r.chanIdx[a.channel()]
				if vip {
					name += "/vip"
				}
				if _, ok := idx[key{name, ch}]; !ok && a.Queue == q.Name && (!vip || a.VIP > 0) {
					add(name, ch, q)
				}
			}
			for _, c := range r.sc.Campaigns {
				if _, ok := idx[key{q.Name, r.voice}]; !ok && !vip && c.Campaign.Queue == q.Name {
					add(q.Name, r.voice, q)
				}
			}
		}
	}
	qt := make([]tally, len(res.Queues))
	ct := make([]tally, len(r.chans))
	for _, rec := range r.recs {
		if !rec.measured {
			continue
		}
		res.Tasks++
		i, ok := idx[key{rec.queue, rec.ch}]
		if !ok {
			continue
		}
		qt[i].add(rec, thr[rec.queue], end)
		ct[rec.ch].add(rec, thr[rec.queue], end)
	}
	for i := range res.Channels {
		res.Channels[i].Outcome = ct[i].done()
	}
	for i := range res.Queues {
		qr := &res.Queues[i]
		qr.Outcome = qt[i].done()
		if qr.Channel != acd.ChannelVoice {
			continue
		}
		// Erlang C for the base queue's own traffic.
		var lambda, aht float64
		for _, a := range r.sc.Arrivals {
			if a.Queue == qr.Queue && a.channel() == acd.ChannelVoice {
				lambda += a.Rate / 3600
				aht = a.Handle.Mean.D().Seconds()
			}
		}
		t := thr[qr.Queue].Seconds()
		if lambda > 0 {
			qr.ErlangC = stats.ServiceLevel(qr.Agents, lambda, aht, t)
		}
		if qr.Offered > 0 && measured > 0 {
			qr.ErlangCRealized = stats.ServiceLevel(qr.Agents, float64(qr.Offered)/measured, qt[i].handle/float64(qr.Offered), t)
		}
	}
	return res
}
