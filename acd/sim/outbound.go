package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"switchboard/acd"
	"switchboard/acd/acdtest"
	"switchboard/acd/campaign"
	"switchboard/acd/dialplan"
)

// Campaign is an outbound campaign dialled during a run: package
// campaign paces it and keeps its rules, the engine routes the calls a
// person answers to the campaign queue's agents.
type Campaign struct {
	// Campaign is the campaign's configuration; its queue is one of the
	// scenario's, its mode progressive or predictive (preview needs
	// agents who choose).
	Campaign campaign.Config `yaml:"campaign"`
	// DialPlan vets every number (default: home country US).
	DialPlan dialplan.Config `yaml:"dial_plan"`
	// List is the generated contact list.
	List List `yaml:"list"`
	// Human, Machine, Busy and NoAnswer are the chances that a dial is
	// answered by a person, by a machine, is busy or rings out; the rest
	// fail.
	Human    float64 `yaml:"human"`
	Machine  float64 `yaml:"machine"`
	Busy     float64 `yaml:"busy"`
	NoAnswer float64 `yaml:"no_answer"`
	// Answer is the time from dial to answer (person or machine).
	Answer Dist `yaml:"answer"`
	// Ring is how long a dial nobody answers rings (default 30s).
	Ring acd.Duration `yaml:"ring"`
	// MachineHold is how long a machine holds the line: detection, plus
	// the message when one is left (default: fixed 4s when dropped, 30s
	// with a message).
	MachineHold Dist `yaml:"machine_hold"`
	// Handle is the talk time of a connected call.
	Handle Dist `yaml:"handle"`
}

// List generates a campaign's contacts: number i is prefix i mod
// len(Prefixes) followed by i / len(Prefixes) in Digits digits, so the
// prefixes (area codes, time zones) take turns down the list.
type List struct {
	Size     int      `yaml:"size"`
	Prefixes []string `yaml:"prefixes"`
	Digits   int      `yaml:"digits"`
	// DNC is the share of the numbers on the do-not-call list.
	DNC float64 `yaml:"dnc"`
}

// CampaignResult is one campaign's outcome over the whole run (the
// regulator counts every call, warm-up included), with the occupancy of
// its queue's agents over the measured period.
type CampaignResult struct {
	ID    string
	Queue string
	Mode  campaign.Mode
	// Agents are the queue's agents.
	Agents int
	// Dials placed; Connects reached an agent; Abandoned got the abandon
	// prompt; Machines were answered by one.
	Dials, Connects, Abandoned, Machines int
	// AbandonRate is Abandoned over the calls a person answered, over
	// the run; MaxRolling the highest rolling-window rate (the
	// campaign's abandon.window) seen at the end of each simulated hour
	// and of the run; Cap the campaign's cap.
	AbandonRate, MaxRolling, Cap float64
	// AnswerRate is the measured share of dials a person answers.
	AnswerRate float64
	// Occupancy is the mean load of the queue's agents.
	Occupancy float64
	// Left counts the contacts not finished at the end.
	Left int
}

// Timing of the dial results that take no answer.
const (
	busyAfter = 3 * time.Second
	failAfter = 2 * time.Second
	// paceEvery is how often the simulator asks the campaigns to pace
	// when nothing else happens (a window opening, a retry due).
	paceEvery = 5 * time.Second
)

// validate checks c, whose queues are the scenario's, and names the
// offending field under f.
func (c *Campaign) validate(f string, queues map[string]bool) error {
	bad := func(field, format string, a ...any) error {
		return fmt.Errorf("%w: %s.%s: %s", ErrScenario, f, field, fmt.Sprintf(format, a...))
	}
	if err := c.Campaign.Validate(); err != nil {
		return fmt.Errorf("%w: %s.campaign: %w", ErrScenario, f, err)
	}
	if !queues[c.Campaign.Queue] {
		return bad("campaign.queue", "unknown queue %q", c.Campaign.Queue)
	}
	if m := c.Campaign.Mode; m != campaign.Progressive && m != campaign.Predictive {
		return bad("campaign.mode", "%q is not simulated (progressive or predictive)", m)
	}
	if c.DialPlan.HomeCountry != "" {
		if err := c.DialPlan.Validate(); err != nil {
			return fmt.Errorf("%w: %s.dial_plan: %w", ErrScenario, f, err)
		}
	}
	l := c.List
	if l.Size < 1 || l.Size > maxCount {
		return bad("list.size", "must be in [1, %d]", maxCount)
	}
	if l.Digits < 1 || l.Digits > 10 {
		return bad("list.digits", "must be in [1, 10]")
	}
	if len(l.Prefixes) == 0 || len(l.Prefixes) > 100 {
		return bad("list.prefixes", "need 1 to 100 prefixes")
	}
	for _, p := range l.Prefixes {
		if len(p) < 2 || len(p) > 12 || p[0] != '+' || strings.Trim(p[1:], "0123456789") != "" {
			return bad("list.prefixes", "%q is not \"+\" and digits", p)
		}
	}
	if float64(l.Size) > float64(len(l.Prefixes))*math.Pow10(l.Digits) {
		return bad("list.size", "more contacts than the prefixes and digits give numbers")
	}
	if !(l.DNC >= 0 && l.DNC < 1) {
		return bad("list.dnc", "must be in [0, 1)")
	}
	sum := 0.0
	for _, p := range []struct {
		name string
		v    float64
	}{{"human", c.Human}, {"machine", c.Machine}, {"busy", c.Busy}, {"no_answer", c.NoAnswer}} {
		if !(p.v >= 0 && p.v <= 1) {
			return bad(p.name, "must be in [0, 1]")
		}
		sum += p.v
	}
	if c.Human == 0 || sum > 1+1e-9 {
		return bad("human", "a person must answer some dials, and the chances add up to at most 1")
	}
	if c.Ring < 0 || c.Ring.D() > 10*time.Minute {
		return bad("ring", "must be in [0, 10m]")
	}
	if err := c.Answer.check(f+".answer", false); err != nil {
		return err
	}
	if err := c.Handle.check(f+".handle", false); err != nil {
		return err
	}
	return c.MachineHold.check(f+".machine_hold", true)
}

// campRun is one campaign during a run.
type campRun struct {
	spec   *Campaign
	c      *campaign.Campaign
	rnd    *rand.Rand
	queue  acd.QueueConfig
	agents []*agentRec
	grace  time.Duration
	// wrap is the queue's wrap-up, part of a call's handle time.
	wrap       time.Duration
	ring       time.Duration
	machine    Dist
	recs       []campaign.Attempt
	maxRolling float64
	sampleAt   time.Time
}

// dial is a dial in progress: what will become of it.
type dial struct {
	camp   *campRun
	d      campaign.Dial
	result campaign.Result
	human  bool
}

// startCampaigns builds the campaigns of the scenario, their lists and
// do-not-call lists, each drawing from its own source (stream i of the
// seed, after the arrival streams).
func (r *runner) startCampaigns(seed uint64, now time.Time) error {
	for i := range r.sc.Campaigns {
		spec := &r.sc.Campaigns[i]
		rnd := rand.New(rand.NewPCG(seed, (seed^0x9e3779b97f4a7c15)+uint64(len(r.sc.Arrivals)+i)))
		dpc := spec.DialPlan
		if dpc.HomeCountry == "" {
			dpc.HomeCountry = "US"
		}
		plan, err := dialplan.New(dpc)
		if err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		dnc := campaign.NewDNCList()
		contacts := make([]campaign.Contact, spec.List.Size)
		n := len(spec.List.Prefixes)
		for j := range contacts {
			num := fmt.Sprintf("%s%0*d", spec.List.Prefixes[j%n], spec.List.Digits, j/n)
			contacts[j] = campaign.Contact{ID: fmt.Sprintf("c%d", j), Number: num}
			if rnd.Float64() < spec.List.DNC {
				dnc.Add(num)
			}
		}
		c, err := campaign.New(spec.Campaign, plan, dnc)
		if err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		c.Add(now, contacts)
		cfg := c.Config()
		cr := &campRun{spec: spec, c: c, rnd: rnd, grace: cfg.Abandon.Grace, ring: spec.Ring.D(), machine: spec.MachineHold,
			sampleAt: now.Add(time.Hour)}
		if cr.ring == 0 {
			cr.ring = 30 * time.Second
		}
		if cr.machine.Mean == 0 {
			cr.machine = Dist{Mean: acd.Duration(4 * time.Second), Dist: "fixed"}
			if cfg.AMD == campaign.Message {
				cr.machine.Mean = acd.Duration(30 * time.Second)
			}
		}
		for _, q := range r.cfg.Queues {
			if q.Name == cfg.Queue {
				cr.queue = q
			}
		}
		cr.wrap = r.cfg.WrapUp.D()
		if cr.queue.WrapUp != nil {
			cr.wrap = cr.queue.WrapUp.D()
		}
		for _, a := range r.order {
			if qualifies(a.skills, cr.queue) {
				cr.agents = append(cr.agents, a)
			}
		}
		r.camps = append(r.camps, cr)
	}
	if len(r.camps) > 0 {
		r.push(&simEvent{at: now, kind: evPace})
	}
	return nil
}

// pace starts the dials every campaign asks for at now and, at the end
// of each simulated hour, samples its rolling abandonment rate.
func (r *runner) pace(now time.Time) error {
	for _, cr := range r.camps {
		staff := campaign.Staff{Ready: len(cr.agents)}
		for _, a := range cr.agents {
			if a.idle() {
				staff.Idle++
			}
		}
		for n := cr.c.Pace(now, staff); n > 0; n-- {
			d, ok, err := cr.c.Next(r.ctx, now)
			if err != nil {
				return fmt.Errorf("sim: %w", err)
			}
			if !ok {
				break
			}
			r.place(cr, d, now)
		}
		// The simulator writes no interactions: the records are dropped.
		cr.recs = cr.c.Records(cr.recs[:0])
		if !now.Before(cr.sampleAt) {
			cr.sample(now)
			cr.sampleAt = cr.sampleAt.Add(time.Hour)
		}
	}
	return nil
}

// sample notes the campaign's rolling abandonment rate at now.
func (cr *campRun) sample(now time.Time) {
	cr.maxRolling = max(cr.maxRolling, cr.c.Stats(now).AbandonRate)
}

// place draws what becomes of dial d and when.
func (r *runner) place(cr *campRun, d campaign.Dial, now time.Time) {
	s := cr.spec
	u := cr.rnd.Float64()
	dl := &dial{camp: cr, d: d}
	var after time.Duration
	switch {
	case u < s.Human:
		dl.result, dl.human, after = campaign.ResultConnected, true, s.Answer.draw(cr.rnd)
	case u < s.Human+s.Machine:
		dl.result, after = campaign.ResultMachine, s.Answer.draw(cr.rnd)
	case u < s.Human+s.Machine+s.Busy:
		dl.result, after = campaign.ResultBusy, busyAfter
	case u < s.Human+s.Machine+s.Busy+s.NoAnswer:
		dl.result, after = campaign.ResultNoAnswer, cr.ring
	default:
		dl.result, after = campaign.ResultFailed, failAfter
	}
	r.push(&simEvent{at: now.Add(after), kind: evDial, dial: dl})
}

// dialed applies the result of a dial at now: a person's answer enters
// the campaign queue as a call that leaves at the end of the grace (the
// abandon prompt) unless an agent took it; a machine holds the line for
// its treatment; anything else is over.
func (r *runner) dialed(dl *dial, now time.Time) error {
	cr := dl.camp
	switch {
	case dl.human:
		if err := cr.c.Answered(dl.d.ID, campaign.Human, now); err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		r.n++
		rec := &taskRec{id: dl.d.ID, ch: r.voice, queue: cr.queue.Name, arrived: now, camp: cr,
			handle: max(cr.spec.Handle.draw(cr.rnd), time.Second), measured: !now.Before(r.measureFrom)}
		rec.leg = acdtest.NewLeg(rec.id)
		r.byID[rec.id] = rec
		r.recs = append(r.recs, rec)
		if _, err := r.e.Enqueue(r.ctx, acd.CallRequest{ID: acd.CallID(rec.id), Queue: rec.queue, ANI: dl.d.Number}, rec.leg); err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		r.push(&simEvent{at: now.Add(cr.grace), kind: evAbandon, rec: rec})
	case dl.result == campaign.ResultMachine:
		if err := cr.c.Answered(dl.d.ID, campaign.Machine, now); err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		hold := max(cr.machine.draw(cr.rnd), 0)
		r.push(&simEvent{at: now.Add(hold), kind: evMachineDone, dial: dl})
	default:
		if err := cr.c.Finish(dl.d.ID, dl.result, now); err != nil {
			return fmt.Errorf("sim: %w", err)
		}
	}
	return nil
}

// finishCampaigns samples every campaign's rolling rate at end and
// reports each, with the occupancy of its queue's agents.
func (r *runner) finishCampaigns(end time.Time, res *Result) {
	occ := map[acd.AgentID]float64{}
	for _, a := range res.Agents {
		occ[a.Agent] = a.Occupancy
	}
	for _, cr := range r.camps {
		cr.sample(end)
		s := cr.c.Stats(end)
		cfg := cr.c.Config()
		out := CampaignResult{ID: cfg.ID, Queue: cfg.Queue, Mode: cfg.Mode, Agents: len(cr.agents), Dials: s.Dialed,
			Connects: s.Connected, Abandoned: s.Abandoned, Machines: s.Machines, MaxRolling: cr.maxRolling,
			Cap: cfg.Abandon.Cap, AnswerRate: s.AnswerRate, Left: s.Contacts - s.Done}
		if n := s.Connected + s.Abandoned; n > 0 {
			out.AbandonRate = float64(s.Abandoned) / float64(n)
		}
		for _, a := range cr.agents {
			out.Occupancy += occ[a.id]
		}
		if len(cr.agents) > 0 {
			out.Occupancy /= float64(len(cr.agents))
		}
		res.Campaigns = append(res.Campaigns, out)
	}
}

// scalePools returns pools with their counts scaled to n agents in all,
// in proportion (largest remainders first).
func scalePools(pools []Pool, n int) []Pool {
	total := 0
	for _, p := range pools {
		total += p.Count
	}
	out := append([]Pool(nil), pools...)
	if total == 0 {
		return out
	}
	type rem struct {
		i int
		f float64
	}
	var rems []rem
	given := 0
	for i, p := range pools {
		exact := float64(p.Count) * float64(n) / float64(total)
		out[i].Count = int(exact)
		given += out[i].Count
		rems = append(rems, rem{i, exact - math.Floor(exact)})
	}
	for given < n {
		best := 0
		for j := range rems {
			if rems[j].f > rems[best].f {
				best = j
			}
		}
		out[rems[best].i].Count++
		rems[best].f = -1
		given++
	}
	return out
}
