package campaign

import (
	"math"
	"time"
)

// Staff is what the engine says about the campaign queue's agents when
// the campaign paces.
type Staff struct {
	// Ready are the agents qualified for the queue, logged in and ready,
	// whether idle or busy with a call or its wrap-up.
	Ready int
	// Idle are those of them free to take a call now (not reserved).
	Idle int
	// Reserved are the lines in progress whose agent is already held
	// for them (a progressive dial placed after its agent was reserved);
	// they need no other agent.
	Reserved int
}

// Pacing is everything a pacing decision depends on; Dials makes it.
// Campaign.Pace fills it from the campaign's measurements.
type Pacing struct {
	Mode Mode
	Staff
	// Dialing are the lines dialling (not answered yet), Waiting the
	// calls answered by a person waiting for an agent, Treating those
	// answered by a machine and getting their treatment.
	Dialing, Waiting, Treating int
	// AnswerRate is the measured share of dials a person answers;
	// TimeToAnswer the mean time from dial to a person's answer;
	// HandleTime the mean talk plus wrap-up of a connected call.
	AnswerRate   float64
	TimeToAnswer time.Duration
	HandleTime   time.Duration
	// Ratio is the controller's target of answers per agent expected
	// free; zero while the answer rate is not measured yet, when
	// InitialRatio lines per free agent are dialled.
	Ratio        float64
	InitialRatio float64
	// Headroom scales the dialling ahead by how far the rolling
	// abandonment rate is from the cap: 1 at or below the target, 0 at
	// or above the cap, linear between.
	Headroom float64
	// MaxLines caps the lines in progress per ready agent.
	MaxLines float64
}

// Dials returns how many new dials to start.
//
// Preview starts none: agents pull contacts. Progressive starts one per
// free agent with no line dialling for them yet: Idle − Waiting −
// (Dialing − Reserved). Predictive never dials less than that (the floor
// abandons nobody: every answer finds an idle agent) and otherwise keeps
// L lines dialling:
//
//	F = Idle − Waiting + (Ready − Idle)·(1 − e^(−TimeToAnswer/HandleTime))
//	L = Headroom · Ratio · F / AnswerRate
//
// F is the agents expected free when a dial started now is answered: the
// idle ones not already promised to a waiting call, plus each busy agent
// with the probability that their call (memoryless, of mean HandleTime)
// ends within the time to answer. Dividing by the answer rate turns the
// answers wanted (Ratio · F) into lines. Until the answer rate is
// measured, L is InitialRatio lines per free agent. Whatever the mode,
// the lines in progress stay under MaxLines per ready agent.
func (p Pacing) Dials() int {
	if p.Mode != Progressive && p.Mode != Predictive || p.Ready <= 0 {
		return 0
	}
	free := p.Idle - p.Waiting
	n := free - (p.Dialing - p.Reserved)
	if p.Mode == Predictive {
		var lines float64
		if p.Ratio > 0 && p.AnswerRate > 0 && p.HandleTime > 0 {
			busy := float64(p.Ready - p.Idle)
			soon := busy * (1 - math.Exp(-p.TimeToAnswer.Seconds()/p.HandleTime.Seconds()))
			lines = p.Headroom * p.Ratio * (float64(free) + soon) / p.AnswerRate
		} else {
			lines = p.Headroom * p.InitialRatio * float64(free)
		}
		n = max(n, int(math.Floor(lines))-p.Dialing)
	}
	room := int(math.Floor(p.MaxLines*float64(p.Ready))) - (p.Dialing + p.Waiting + p.Treating)
	return max(min(n, room), 0)
}

// headroom is Pacing.Headroom for an abandonment rate.
func headroom(rate, target, limit float64) float64 {
	switch {
	case rate <= target:
		return 1
	case rate >= limit:
		return 0
	}
	return (limit - rate) / (limit - target)
}

// ewma is an exponentially weighted mean over about 1/alpha samples; the
// first samples are averaged plainly, so that it starts unbiased.
type ewma struct {
	alpha float64
	n     int
	v     float64
}

func (e *ewma) add(x float64) {
	e.n++
	e.v += max(e.alpha, 1/float64(e.n)) * (x - e.v)
}

// Controller constants. The ratio moves in log space: up by ratioStep on
// every call connected within the grace, down by ratioStep·(1−t)/t on
// every abandoned one (t the target rate), so that it settles where a
// share t of the calls answered by a person is abandoned, whatever the
// traffic. It stays within [minRatio, maxRatio].
const (
	ratioStep = 0.002
	minRatio  = 0.1
	maxRatio  = 1.5
	// warmDials is how many dials must have a result before the answer
	// rate counts as measured.
	warmDials = 30
	// answerWeight and timeWeight smooth the answer rate over about the
	// last 200 dials and the times over about the last 100 calls.
	answerWeight = 1.0 / 200
	timeWeight   = 1.0 / 100
)

// controller is the predictive pacing state of a campaign.
type controller struct {
	answer ewma // 1 for a dial a person answered, 0 otherwise
	tta    ewma // seconds from dial to a person's answer
	handle ewma // seconds of talk and wrap-up
	logR   float64
	warm   bool
}

func newController() controller {
	return controller{answer: ewma{alpha: answerWeight}, tta: ewma{alpha: timeWeight}, handle: ewma{alpha: timeWeight}}
}

// dialed counts a dial's result: human tells whether a person answered.
// Once warmDials are counted the ratio starts from initial lines per
// free agent.
func (c *controller) dialed(human bool, initial float64) {
	x := 0.0
	if human {
		x = 1
	}
	c.answer.add(x)
	if !c.warm && c.answer.n >= warmDials && c.answer.v > 0 {
		c.warm = true
		c.logR = math.Log(min(max(initial*c.answer.v, minRatio), maxRatio))
	}
}

// settled moves the ratio after a call a person answered: connected
// within the grace, or abandoned.
func (c *controller) settled(abandoned bool, target float64) {
	if !c.warm {
		return
	}
	if abandoned {
		c.logR -= ratioStep * (1 - target) / target
	} else {
		c.logR += ratioStep
	}
	c.logR = min(max(c.logR, math.Log(minRatio)), math.Log(maxRatio))
}

// ratio is Pacing.Ratio.
func (c *controller) ratio() float64 {
	if !c.warm {
		return 0
	}
	return math.Exp(c.logR)
}
