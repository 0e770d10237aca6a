package stats

import (
	"fmt"
	"time"
)

// Formula selects how the service level is computed. Short abandons (calls
// that hung up before the short-abandon threshold) are excluded from every
// formula.
type Formula uint8

// The standard service-level formulas, with A = answered, Aₜ = answered
// within the threshold, B = abandoned, Bₜ = abandoned within the threshold.
const (
	// FormulaOffered is Aₜ / (A + B): abandons count against the SL.
	FormulaOffered Formula = iota
	// FormulaAnswered is Aₜ / A: abandons are ignored.
	FormulaAnswered
	// FormulaAbandonFavourable is (Aₜ + Bₜ) / (A + B): early abandons count for.
	FormulaAbandonFavourable
	// FormulaAbandonAfter is Aₜ / (A + B − Bₜ): only late abandons count against.
	FormulaAbandonAfter
	numFormulas
)

var formulaNames = [numFormulas]string{"offered", "answered", "abandon-favourable", "abandon-after-threshold"}

// String returns the formula's configuration name.
func (f Formula) String() string {
	if f < numFormulas {
		return formulaNames[f]
	}
	return fmt.Sprintf("formula(%d)", uint8(f))
}

// ParseFormula returns the formula named s; "" is FormulaOffered.
func ParseFormula(s string) (Formula, error) {
	if s == "" {
		return FormulaOffered, nil
	}
	for i, n := range formulaNames {
		if n == s {
			return Formula(i), nil
		}
	}
	return 0, fmt.Errorf("stats: unknown service-level formula %q", s)
}

// Counts are the call counters over some period.
type Counts struct {
	Offered           int     // calls that entered the queue
	Answered          int     // answered by an agent
	AnsweredWithin    int     // answered within the SL threshold
	Abandoned         int     // hung up while waiting (not short)
	AbandonedWithin   int     // abandoned within the SL threshold (not short)
	ShortAbandoned    int     // hung up before the short-abandon threshold
	Overflowed        int     // left the queue by an overflow action
	WaitAnsweredSum   float64 // seconds waited by answered calls
	Handled           int     // calls whose handling (talk+hold+wrap-up) completed
	HandleSum         float64 // seconds of talk + hold + wrap-up of handled calls
	TalkSum, HoldSum  float64 // seconds
	WrapSum           float64 // seconds
	BusySum, StaffSum float64 // agent-seconds busy / logged in and not offline
	AbandonWaitSum    float64 // seconds waited by abandoned calls
	MaxWait           float64 // longest wait of a call that left the queue
}

// Add accumulates o into c.
func (c *Counts) Add(o Counts) {
	c.Offered += o.Offered
	c.Answered += o.Answered
	c.AnsweredWithin += o.AnsweredWithin
	c.Abandoned += o.Abandoned
	c.AbandonedWithin += o.AbandonedWithin
	c.ShortAbandoned += o.ShortAbandoned
	c.Overflowed += o.Overflowed
	c.WaitAnsweredSum += o.WaitAnsweredSum
	c.Handled += o.Handled
	c.HandleSum += o.HandleSum
	c.TalkSum += o.TalkSum
	c.HoldSum += o.HoldSum
	c.WrapSum += o.WrapSum
	c.BusySum += o.BusySum
	c.StaffSum += o.StaffSum
	c.AbandonWaitSum += o.AbandonWaitSum
	c.MaxWait = max(c.MaxWait, o.MaxWait)
}

// ServiceLevel returns the service level (0..1) under formula f, and false
// when the denominator is zero.
func (c Counts) ServiceLevel(f Formula) (float64, bool) {
	var num, den float64
	a, at, b, bt := float64(c.Answered), float64(c.AnsweredWithin), float64(c.Abandoned), float64(c.AbandonedWithin)
	switch f {
	case FormulaAnswered:
		num, den = at, a
	case FormulaAbandonFavourable:
		num, den = at+bt, a+b
	case FormulaAbandonAfter:
		num, den = at, a+b-bt
	default:
		num, den = at, a+b
	}
	if den <= 0 {
		return 0, false
	}
	return num / den, true
}

// ASA returns the average speed of answer.
func (c Counts) ASA() time.Duration {
	if c.Answered == 0 {
		return 0
	}
	return seconds(c.WaitAnsweredSum / float64(c.Answered))
}

// AHT returns the average handle time (talk + hold + wrap-up).
func (c Counts) AHT() time.Duration {
	if c.Handled == 0 {
		return 0
	}
	return seconds(c.HandleSum / float64(c.Handled))
}

// AbandonRate returns abandoned / (answered + abandoned), short abandons excluded.
func (c Counts) AbandonRate() float64 {
	d := c.Answered + c.Abandoned
	if d == 0 {
		return 0
	}
	return float64(c.Abandoned) / float64(d)
}

// Occupancy returns busy agent time over staffed agent time.
func (c Counts) Occupancy() float64 {
	if c.StaffSum <= 0 {
		return 0
	}
	return c.BusySum / c.StaffSum
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
