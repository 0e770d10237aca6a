package routing

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// MaxLevel is the highest skill level; 0 means the agent lacks the skill.
const MaxLevel = 5

// Level is a skill proficiency from 1 (novice) to MaxLevel (expert); 0 means absent.
type Level = uint8

// Factor names one term of the routing score.
type Factor uint8

// The routing score's factors.
const (
	FactorSkill     Factor = iota // mean required-skill level / MaxLevel
	FactorIdle                    // time idle since the last call, saturating
	FactorOccupancy               // (1 - occupancy over the sliding window) × (1 - capacity in use)
	FactorCalls                   // 1 / (1 + calls handled today)
	FactorGeo                     // same region 1, same country 0.6
	FactorLanguage                // agent speaks the caller's language
	FactorTimeZone                // 1 - |Δ UTC offset| / 12 h
	FactorSticky                  // the caller's preferred agent
	FactorFairness                // time since the agent's last offer, saturating
	NumFactors                    // number of factors (not a factor)
)

var factorNames = [NumFactors]string{"skill", "idle", "occupancy", "calls", "geo", "language", "timezone", "sticky", "fairness"}

// String returns the factor's stable lower-case name.
func (f Factor) String() string {
	if f < NumFactors {
		return factorNames[f]
	}
	return fmt.Sprintf("factor(%d)", uint8(f))
}

// ParseFactor returns the factor named s.
func ParseFactor(s string) (Factor, error) {
	for i, n := range factorNames {
		if n == s {
			return Factor(i), nil
		}
	}
	return 0, fmt.Errorf("routing: unknown factor %q", s)
}

// Weights gives each factor's weight in the score.
type Weights [NumFactors]float64

// Scope is a hard geography filter on eligible agents.
type Scope uint8

// Geography scopes, from the widest.
const (
	ScopeAny     Scope = iota // any agent
	ScopeCountry              // agents in the caller's country
	ScopeRegion               // agents in the caller's region
)

// Agent is one routable agent in an Index slot. The Engine updates the
// dynamic fields (Available, Full, Load, IdleSince, LastOffer, Occupancy,
// CallsToday) in place through Index.Agent.
type Agent struct {
	// Skills holds the level per skill id; it is len(Index skills) long.
	Skills []Level
	// Languages is a bit set of language ids (0..63).
	Languages uint64
	// Country and Region are interned ids; 0 means unknown.
	Country, Region uint16
	// TZOffset is the agent's current UTC offset in minutes; HasTZ tells
	// whether it is known.
	TZOffset int16
	HasTZ    bool
	// Available is true when the agent may be offered a task now on a
	// channel not in Full (presence ready, no blocking task held, under
	// the total cap).
	Available bool
	// Full has bit n set when the agent has no free capacity on channel
	// id n (Call.Channel); the zero value leaves every channel free.
	Full uint64
	// Load is the share of the agent's capacity in use now across all
	// channels, 0..1; it scales the occupancy factor.
	Load float32
	// Staffed is true when the agent serves calls now or soon (presence
	// ready, idle or busy); it feeds expected-wait estimates.
	Staffed bool
	// IdleSince and LastOffer are Unix nanoseconds.
	IdleSince, LastOffer int64
	// Occupancy is the busy fraction over the sliding window, 0..1.
	Occupancy float32
	// CallsToday counts calls handled since midnight.
	CallsToday int32
	used       bool
}

// Requirement is one required skill with its minimum level.
type Requirement struct {
	Skill    int
	MinLevel Level
}

// Call is what routing needs to know about a waiting call. Slices are
// owned by the caller and only read.
type Call struct {
	// Reqs must all be met (after relaxation).
	Reqs []Requirement
	// Alt lists alternative requirement sets (e.g. an overflow queue's
	// agents added by relaxation): meeting any one also qualifies.
	Alt [][]Requirement
	// Language is the caller's language id, or -1 if unknown.
	Language int
	// LanguageRequired makes Language a hard filter.
	LanguageRequired bool
	// Country, Region are interned ids (0 = unknown).
	Country, Region uint16
	// TZOffset is the caller's UTC offset in minutes if HasTZ.
	TZOffset int16
	HasTZ    bool
	// Scope is the hard geography filter.
	Scope Scope
	// Preferred is the sticky agent's slot, or -1.
	Preferred int32
	// Only restricts the call to one agent slot (a transfer to an agent or
	// a sticky reservation), or -1.
	Only int32
	// Exclude lists agent slots that must not be offered this call (they
	// missed or rejected it); it is usually empty.
	Exclude []int32
	// Channel is the call's channel id (0..63): agents whose Full has
	// this bit are not eligible.
	Channel uint8
}

// free reports whether a may be offered a call of c's channel now.
func free(a *Agent, c *Call) bool {
	return a.Available && a.Full&(1<<(c.Channel&63)) == 0
}

func excluded(c *Call, slot int32) bool {
	for _, s := range c.Exclude {
		if s == slot {
			return true
		}
	}
	return false
}

// Reason is one factor's part in a decision.
type Reason struct {
	Factor Factor
	// Value is the normalised factor value in [0, 1].
	Value float64
	// Contribution is Weight × Value.
	Contribution float64
}

// MaxReasons is the number of reasons a Decision carries.
const MaxReasons = 3

// Decision is the outcome of one routing decision.
type Decision struct {
	// Agent is the chosen slot, or -1 when no agent is eligible and available.
	Agent int32
	// Score is the winner's total score.
	Score float64
	// Eligible counts the available agents scored; an agent qualifying
	// through several requirement sets is counted once per set.
	Eligible int
	// Reasons are the winner's top contributions, largest first.
	Reasons [MaxReasons]Reason
}

// Errors returned by the Index.
var (
	ErrUnknownSkill = errors.New("routing: unknown skill")
	ErrBadSlot      = errors.New("routing: bad agent slot")
)

// Index holds agents by slot and by skill.
type Index struct {
	agents  []Agent
	free    []int32
	bySkill [][]int32
	nSkills int
}

// NewIndex returns an empty index for skills ids 0..skills-1.
func NewIndex(skills int) *Index {
	return &Index{bySkill: make([][]int32, skills), nSkills: skills}
}

// Skills returns the number of skill ids the index knows.
func (x *Index) Skills() int { return x.nSkills }

// GrowSkills raises the number of skill ids to n (config reload).
func (x *Index) GrowSkills(n int) {
	for x.nSkills < n {
		x.bySkill = append(x.bySkill, nil)
		x.nSkills++
	}
	for i := range x.agents {
		if x.agents[i].used && len(x.agents[i].Skills) < n {
			s := make([]Level, n)
			copy(s, x.agents[i].Skills)
			x.agents[i].Skills = s
		}
	}
}

// Add inserts a copy of a into a free slot and returns the slot. a.Skills
// is copied and padded to the index's skill count.
func (x *Index) Add(a Agent) int32 {
	sk := make([]Level, x.nSkills)
	copy(sk, a.Skills)
	a.Skills = sk
	a.used = true
	var slot int32
	if n := len(x.free); n > 0 {
		slot = x.free[n-1]
		x.free = x.free[:n-1]
		x.agents[slot] = a
	} else {
		slot = int32(len(x.agents))
		x.agents = append(x.agents, a)
	}
	for s, l := range sk {
		if l > 0 {
			x.bySkill[s] = insertSorted(x.bySkill[s], slot)
		}
	}
	return slot
}

func insertSorted(list []int32, v int32) []int32 {
	i := sort.Search(len(list), func(i int) bool { return list[i] >= v })
	list = append(list, 0)
	copy(list[i+1:], list[i:])
	list[i] = v
	return list
}

func removeSorted(list []int32, v int32) []int32 {
	i := sort.Search(len(list), func(i int) bool { return list[i] >= v })
	if i < len(list) && list[i] == v {
		list = append(list[:i], list[i+1:]...)
	}
	return list
}

// Remove frees a slot.
func (x *Index) Remove(slot int32) error {
	if slot < 0 || int(slot) >= len(x.agents) || !x.agents[slot].used {
		return fmt.Errorf("%w: %d", ErrBadSlot, slot)
	}
	for s, l := range x.agents[slot].Skills {
		if l > 0 {
			x.bySkill[s] = removeSorted(x.bySkill[s], slot)
		}
	}
	x.agents[slot] = Agent{}
	x.free = append(x.free, slot)
	return nil
}

// SetSkill changes one agent's level for a skill, keeping the index.
func (x *Index) SetSkill(slot int32, skill int, l Level) error {
	a := x.Agent(slot)
	if a == nil {
		return fmt.Errorf("%w: %d", ErrBadSlot, slot)
	}
	if skill < 0 || skill >= x.nSkills {
		return fmt.Errorf("%w: %d", ErrUnknownSkill, skill)
	}
	old := a.Skills[skill]
	a.Skills[skill] = l
	switch {
	case old == 0 && l > 0:
		x.bySkill[skill] = insertSorted(x.bySkill[skill], slot)
	case old > 0 && l == 0:
		x.bySkill[skill] = removeSorted(x.bySkill[skill], slot)
	}
	return nil
}

// Agent returns the agent in slot for in-place updates, or nil.
func (x *Index) Agent(slot int32) *Agent {
	if slot < 0 || int(slot) >= len(x.agents) || !x.agents[slot].used {
		return nil
	}
	return &x.agents[slot]
}

// Len returns the number of slots in use.
func (x *Index) Len() int { return len(x.agents) - len(x.free) }

func meets(a *Agent, reqs []Requirement) bool {
	for _, r := range reqs {
		if r.Skill < 0 || r.Skill >= len(a.Skills) || a.Skills[r.Skill] < r.MinLevel || a.Skills[r.Skill] == 0 {
			return false
		}
	}
	return true
}

// Qualifies reports whether agent a meets the call's requirements and hard
// filters, regardless of availability.
func Qualifies(a *Agent, c *Call) bool {
	if c.LanguageRequired && c.Language >= 0 && a.Languages&(1<<uint(c.Language&63)) == 0 {
		return false
	}
	switch c.Scope {
	case ScopeCountry:
		if c.Country != 0 && a.Country != c.Country {
			return false
		}
	case ScopeRegion:
		if c.Region != 0 && (a.Region != c.Region || a.Country != c.Country) {
			return false
		}
		if c.Region == 0 && c.Country != 0 && a.Country != c.Country {
			return false
		}
	}
	if meets(a, c.Reqs) {
		return true
	}
	for _, alt := range c.Alt {
		if meets(a, alt) {
			return true
		}
	}
	return false
}

// Eligible reports whether the agent in slot is available and qualifies for c.
func (x *Index) Eligible(slot int32, c *Call) bool {
	a := x.Agent(slot)
	if a == nil || !free(a, c) {
		return false
	}
	if (c.Only >= 0 && c.Only != slot) || excluded(c, slot) {
		return false
	}
	return Qualifies(a, c)
}

// saturate maps a non-negative duration in nanoseconds to [0, 1) with a
// half-point at half.
func saturate(ns int64, half float64) float64 {
	if ns <= 0 {
		return 0
	}
	s := float64(ns) / 1e9
	return s / (s + half)
}

const (
	idleHalf     = 300.0 // seconds at which the idle factor reaches 0.5
	fairnessHalf = 300.0
)

// values fills v with the agent's normalised factor values for c at now.
func values(a *Agent, slot int32, c *Call, now int64, v *[NumFactors]float64) {
	// Skill: mean level / MaxLevel over the primary requirements; an agent
	// qualifying through an alternative set gets half credit.
	if len(c.Reqs) > 0 {
		sum := 0
		ok := true
		for _, r := range c.Reqs {
			if r.Skill >= 0 && r.Skill < len(a.Skills) {
				sum += int(a.Skills[r.Skill])
				if a.Skills[r.Skill] < r.MinLevel || a.Skills[r.Skill] == 0 {
					ok = false
				}
			}
		}
		v[FactorSkill] = float64(sum) / float64(MaxLevel*len(c.Reqs))
		if !ok {
			v[FactorSkill] /= 2
		}
	} else {
		v[FactorSkill] = 0
	}
	v[FactorIdle] = saturate(now-a.IdleSince, idleHalf)
	v[FactorOccupancy] = (1 - float64(a.Occupancy)) * (1 - float64(a.Load))
	v[FactorCalls] = 1 / (1 + float64(a.CallsToday))
	switch {
	case c.Country == 0:
		v[FactorGeo] = 0
	case c.Region != 0 && a.Region == c.Region && a.Country == c.Country:
		v[FactorGeo] = 1
	case a.Country == c.Country:
		v[FactorGeo] = 0.6
	default:
		v[FactorGeo] = 0
	}
	if c.Language >= 0 && a.Languages&(1<<uint(c.Language&63)) != 0 {
		v[FactorLanguage] = 1
	} else {
		v[FactorLanguage] = 0
	}
	if c.HasTZ && a.HasTZ {
		d := int(c.TZOffset) - int(a.TZOffset)
		if d < 0 {
			d = -d
		}
		if d > 720 {
			d = 720
		}
		v[FactorTimeZone] = 1 - float64(d)/720
	} else {
		v[FactorTimeZone] = 0
	}
	if c.Preferred >= 0 && c.Preferred == slot {
		v[FactorSticky] = 1
	} else {
		v[FactorSticky] = 0
	}
	v[FactorFairness] = saturate(now-a.LastOffer, fairnessHalf)
}

func score(w *Weights, v *[NumFactors]float64) float64 {
	s := 0.0
	for i := range v {
		s += w[i] * v[i]
	}
	return s
}

// Score returns the agent's score for c at now (Unix ns) under w.
func (x *Index) Score(slot int32, c *Call, w *Weights, now int64) float64 {
	a := x.Agent(slot)
	if a == nil {
		return math.Inf(-1)
	}
	var v [NumFactors]float64
	values(a, slot, c, now, &v)
	return score(w, &v)
}

// candidates returns the shortest posting list among reqs, or nil and false
// when reqs is empty (every agent is a candidate).
func (x *Index) candidates(reqs []Requirement) ([]int32, bool) {
	var best []int32
	found := false
	for _, r := range reqs {
		if r.Skill < 0 || r.Skill >= x.nSkills {
			return nil, true // unknown skill: nobody qualifies
		}
		l := x.bySkill[r.Skill]
		if !found || len(l) < len(best) {
			best, found = l, true
		}
	}
	return best, found
}

// Best picks the best available, eligible agent for c at now under w.
// Ties go to the lowest slot, so decisions are deterministic. It does not
// allocate.
func (x *Index) Best(c *Call, w *Weights, now int64) Decision {
	d := Decision{Agent: -1, Score: math.Inf(-1)}
	var v [NumFactors]float64
	try := func(slot int32) {
		a := &x.agents[slot]
		if !a.used || !free(a, c) || (c.Only >= 0 && c.Only != slot) || excluded(c, slot) || !Qualifies(a, c) {
			return
		}
		d.Eligible++
		values(a, slot, c, now, &v)
		s := score(w, &v)
		if s > d.Score || (s == d.Score && slot < d.Agent) {
			d.Score, d.Agent = s, slot
		}
	}
	if c.Only >= 0 {
		if x.Agent(c.Only) != nil {
			try(c.Only)
		}
	} else {
		x.scan(c.Reqs, try)
		for _, alt := range c.Alt {
			x.scan(alt, try)
		}
	}
	if d.Agent < 0 {
		d.Score = 0
		return d
	}
	d.Reasons = x.explain(d.Agent, c, w, now)
	return d
}

func (x *Index) scan(reqs []Requirement, try func(int32)) {
	list, found := x.candidates(reqs)
	if !found {
		for i := range x.agents {
			try(int32(i))
		}
		return
	}
	for _, slot := range list {
		try(slot)
	}
}

// explain returns the top MaxReasons contributions of slot's score.
func (x *Index) explain(slot int32, c *Call, w *Weights, now int64) [MaxReasons]Reason {
	var v [NumFactors]float64
	values(&x.agents[slot], slot, c, now, &v)
	var out [MaxReasons]Reason
	n := 0
	for f := Factor(0); f < NumFactors; f++ {
		r := Reason{Factor: f, Value: v[f], Contribution: w[f] * v[f]}
		if r.Contribution <= 0 {
			continue
		}
		// insertion into the top list
		i := n
		if i == MaxReasons {
			i = MaxReasons - 1
			if out[i].Contribution >= r.Contribution {
				continue
			}
		} else {
			n++
		}
		for i > 0 && out[i-1].Contribution < r.Contribution {
			out[i] = out[i-1]
			i--
		}
		out[i] = r
	}
	return out
}

// AppendEligible appends every available, eligible agent slot for c to dst
// in descending score order (ring-all offers). It allocates only when dst
// must grow.
func (x *Index) AppendEligible(dst []int32, c *Call, w *Weights, now int64) []int32 {
	start := len(dst)
	seen := func(slot int32) bool {
		for _, s := range dst[start:] {
			if s == slot {
				return true
			}
		}
		return false
	}
	try := func(slot int32) {
		a := &x.agents[slot]
		if !a.used || !free(a, c) || (c.Only >= 0 && c.Only != slot) || excluded(c, slot) || !Qualifies(a, c) || seen(slot) {
			return
		}
		dst = append(dst, slot)
	}
	if c.Only >= 0 {
		if x.Agent(c.Only) != nil {
			try(c.Only)
		}
	} else {
		x.scan(c.Reqs, try)
		for _, alt := range c.Alt {
			x.scan(alt, try)
		}
	}
	part := dst[start:]
	sort.SliceStable(part, func(i, j int) bool {
		si, sj := x.Score(part[i], c, w, now), x.Score(part[j], c, w, now)
		if si != sj {
			return si > sj
		}
		return part[i] < part[j]
	})
	return dst
}

// CountStaffed counts staffed agents (available or not) that qualify for
// c's primary requirements, scanning only the rarest skill's agents.
func (x *Index) CountStaffed(c *Call) int {
	n := 0
	x.scan(c.Reqs, func(slot int32) {
		a := &x.agents[slot]
		if a.used && a.Staffed && Qualifies(a, c) {
			n++
		}
	})
	return n
}
