package campaign

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"switchboard/acd/dialplan"
)

// Errors of the dial methods; match with errors.Is.
var (
	// ErrUnknownDial: no dial in progress has this id.
	ErrUnknownDial = errors.New("campaign: unknown dial")
	// ErrResult: the result does not fit the dial (connected without a
	// person's answer, busy after an answer, an internal result).
	ErrResult = errors.New("campaign: result does not fit the dial")
)

// DNC is the do-not-call list, checked before every dial.
type DNC interface {
	// Blocked reports whether number (E.164) must not be called.
	Blocked(ctx context.Context, number string) (bool, error)
}

// DialPlan vets every number before it is dialled, for the campaign
// role (*dialplan.Plan satisfies it).
type DialPlan interface {
	Check(role dialplan.Role, number string) (dialplan.Decision, error)
}

var _ DialPlan = (*dialplan.Plan)(nil)

// Answer is who answered a dial.
type Answer uint8

// Who answers.
const (
	// Human: a person (answering-machine detection says so).
	Human Answer = iota + 1
	// Machine: an answering machine.
	Machine
)

// Dial is a number to dial now, handed out by Next.
type Dial struct {
	// ID identifies the dial (campaign id, contact, dial of the
	// contact); the result is reported under it.
	ID      string
	Contact Contact
	// Seq is the contact's place in the list: the order Add was given it
	// in, from 0 across every Add.
	Seq int
	// Number is the number to dial, as the dial plan wrote it (E.164).
	Number string
	// Attempt counts the contact's dials, this one included.
	Attempt int
}

// Attempt is the record of one dial, or of a contact finished without
// one (dnc, uncallable): what the interaction is written from.
type Attempt struct {
	// Campaign is the campaign's id.
	Campaign string
	// ID is the dial's id (Dial.ID).
	ID      string
	Contact Contact
	// Seq is the contact's place in the list (Dial.Seq).
	Seq int
	// Number is the number dialled (or that would have been).
	Number string
	// Attempt counts the contact's dials up to this one (0 when nothing
	// was dialled).
	Attempt int
	// Started is when the dial was handed out, Answered when someone
	// answered (zero if nobody), Ended when the result was reported.
	Started, Answered, Ended time.Time
	Result                   Result
	// Late marks a call connected after the grace: the person heard
	// silence too long, so the call counts as abandoned in the rate.
	Late bool
	// Reason says why a contact is uncallable (the dial plan's refusal,
	// an unknown zone, …).
	Reason string
	// Retry is when the contact is due again, zero when it is done.
	Retry time.Time
}

// entry is one contact of the list and its dialling state.
type entry struct {
	contact Contact
	seq     int // place in the list
	zones   []*time.Location
	state   State
	// attempts counts dials placed, handed the dials handed out
	// (placed or not), which numbers the dial ids.
	attempts, handed int
	due              time.Time
	heap             *dueHeap // the heap the entry waits in, if any
	index            int      // its place there
	// The dial in progress.
	id                string
	number            string
	started, answered time.Time
	answer            Answer
}

// Campaign is a running campaign: its list, the state of every contact,
// the pacing controller and the statistics. It is safe for concurrent
// use; it starts no goroutine and never holds its lock while it asks the
// dial plan or the do-not-call list.
type Campaign struct {
	cfg  Config
	plan DialPlan
	dnc  DNC

	mu       sync.Mutex
	zones    map[string]*time.Location
	byNumber map[string]*entry
	n        int
	// retry holds contacts due again, fresh those never dialled (or
	// whose dial did not happen); retries go first once due.
	retry, fresh dueHeap
	live         map[string]*entry
	records      []Attempt
	states       [4]int
	results      map[Result]int
	dialed       int
	// lines in progress: dialling, answered by a person and waiting for
	// an agent, answered by a machine and being treated.
	dialing, waiting, treating int
	abandon                    *rolling
	ctl                        controller
}

// New returns a campaign of cfg with an empty list. Every number is
// checked against plan (role campaign) and dnc before it is dialled.
func New(cfg Config, plan DialPlan, dnc DNC) (*Campaign, error) {
	eff, err := cfg.effective()
	if err != nil {
		return nil, err
	}
	if plan == nil || dnc == nil {
		return nil, fmt.Errorf("%w: a dial plan and a do-not-call list are required", ErrConfig)
	}
	return &Campaign{cfg: eff, plan: plan, dnc: dnc, zones: map[string]*time.Location{}, byNumber: map[string]*entry{},
		live: map[string]*entry{}, results: map[Result]int{}, abandon: newRolling(eff.Abandon.Window), ctl: newController()}, nil
}

// Config returns the campaign's configuration with its defaults.
func (c *Campaign) Config() Config { return c.cfg }

// Add appends contacts to the list at now and returns how many are
// callable. A contact that can never be called (an invalid number, no
// known time zone, a window that never opens in all its zones, a number
// already on the list) is finished at once with result uncallable.
func (c *Campaign) Add(now time.Time, contacts []Contact) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	added := 0
	for _, ct := range contacts {
		e := &entry{contact: ct, seq: c.n, index: -1}
		c.n++
		c.states[StatePending]++
		if reason := c.admit(e, now); reason != "" {
			c.finishUndialed(e, now, ResultUncallable, reason)
			continue
		}
		c.byNumber[e.number] = e
		e.due = now
		c.fresh.push(e)
		added++
	}
	return added
}

// admit resolves e's number and zones; it returns why e cannot be called.
func (c *Campaign) admit(e *entry, now time.Time) string {
	num, e164, err := parseNumber(e.contact.Number)
	if err != nil {
		return err.Error()
	}
	e.number, e.contact.Number = e164, e164
	if first := c.byNumber[e164]; first != nil {
		return fmt.Sprintf("number %s is already on the list (contact %q)", e164, first.contact.ID)
	}
	names, err := zoneNames(e.contact, num)
	if err != nil {
		return err.Error()
	}
	for _, name := range names {
		loc, ok := c.zones[name]
		if !ok {
			loc, err = loadZone(name)
			if err != nil {
				return err.Error()
			}
			c.zones[name] = loc
		}
		e.zones = append(e.zones, loc)
	}
	if _, ok := c.cfg.Window.next(now, e.zones); !ok {
		return "the calling window is never open in all of the number's time zones"
	}
	return ""
}

// Next hands out the next contact to dial at now: retries that are due
// first, then contacts never dialled, in list order; only contacts whose
// calling window is open in all their zones. The number is checked
// against the dial plan and the do-not-call list first: a contact they
// refuse is finished (uncallable, dnc) and the next one tried. ok is
// false when nothing is callable now. An error from the do-not-call list
// leaves the contact as it was and is returned.
func (c *Campaign) Next(ctx context.Context, now time.Time) (d Dial, ok bool, err error) {
	for {
		c.mu.Lock()
		e := c.pop(now)
		c.mu.Unlock()
		if e == nil {
			return Dial{}, false, nil
		}
		dec, perr := c.plan.Check(dialplan.RoleCampaign, e.number)
		var blocked bool
		if perr == nil {
			blocked, err = c.dnc.Blocked(ctx, dec.Number)
		}
		c.mu.Lock()
		switch {
		case perr != nil:
			c.finishUndialed(e, now, ResultUncallable, perr.Error())
		case err != nil:
			e.heap.push(e)
			c.mu.Unlock()
			return Dial{}, false, fmt.Errorf("campaign: do-not-call list: %w", err)
		case blocked:
			c.finishUndialed(e, now, ResultDNC, "")
		default:
			d = c.start(e, dec.Number, now)
			c.mu.Unlock()
			return d, true, nil
		}
		c.mu.Unlock()
	}
}

// pop takes the first contact whose turn has come and whose window is
// open at now; contacts out of their window wait in their heap until it
// opens.
func (c *Campaign) pop(now time.Time) *entry {
	for {
		h := &c.retry
		if !h.ready(now) {
			h = &c.fresh
		}
		if !h.ready(now) {
			return nil
		}
		e := h.pop()
		e.heap = h // where it goes back if the dial does not happen
		at, ok := c.cfg.Window.next(now, e.zones)
		switch {
		case !ok:
			c.finishUndialed(e, now, ResultUncallable, "the calling window is never open in all of the number's time zones")
		case at.After(now):
			e.due = at
			h.push(e)
		default:
			return e
		}
	}
}

// start moves e to dialing as dial number at now.
func (c *Campaign) start(e *entry, number string, now time.Time) Dial {
	_ = c.move(e, StateDialing) // allowed: e was pending or retry
	e.handed++
	e.id = fmt.Sprintf("%s-%d-%d", c.cfg.ID, e.seq, e.handed)
	e.number, e.started, e.answered, e.answer = number, now, time.Time{}, 0
	c.live[e.id] = e
	c.dialing++
	return Dial{ID: e.id, Contact: e.contact, Seq: e.seq, Number: number, Attempt: e.attempts + 1}
}

// move changes e's state through its machine and keeps the counts per
// state; a refused move changes nothing and is returned.
func (c *Campaign) move(e *entry, next State) error {
	if err := e.state.To(next); err != nil {
		return err
	}
	c.states[e.state]--
	c.states[next]++
	e.state = next
	return nil
}

// finishUndialed ends e (pending, retry or never admitted) without a dial
// and records why.
func (c *Campaign) finishUndialed(e *entry, now time.Time, res Result, reason string) {
	_ = c.move(e, StateDone) // allowed: e was pending or retry
	c.results[res]++
	e.handed++
	c.records = append(c.records, Attempt{Campaign: c.cfg.ID, ID: fmt.Sprintf("%s-%d-%d", c.cfg.ID, e.seq, e.handed),
		Contact: e.contact, Seq: e.seq, Number: e.contact.Number, Attempt: e.attempts, Started: now, Ended: now, Result: res, Reason: reason})
}

// Answered reports that dial id was answered at now, by a person or a
// machine (answering-machine detection's verdict). A person must be
// connected to an agent within the grace (Config.Abandon.Grace) or
// given the abandon prompt and released: report which with Finish.
func (c *Campaign) Answered(id string, who Answer, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.live[id]
	if e == nil {
		return fmt.Errorf("%w: %q", ErrUnknownDial, id)
	}
	if e.answer != 0 || (who != Human && who != Machine) {
		return fmt.Errorf("%w: %q answered twice or by nobody", ErrResult, id)
	}
	e.answer, e.answered = who, now
	c.dialing--
	if who == Human {
		c.waiting++
		c.ctl.tta.add(now.Sub(e.started).Seconds())
	} else {
		c.treating++
	}
	return nil
}

// Finish reports the result of dial id at now: connected or abandoned
// after a person answered; machine once its treatment is over; busy,
// no-answer or failed when nobody answered (failed fits any time);
// out-of-window-later when the dial was not placed because the window
// closed (the contact waits for it to open, no attempt counted). The
// contact is then scheduled again by its retry rule or done, and the
// attempt is recorded (Records).
func (c *Campaign) Finish(id string, res Result, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.live[id]
	if e == nil {
		return fmt.Errorf("%w: %q", ErrUnknownDial, id)
	}
	switch res {
	case ResultConnected, ResultAbandoned:
		if e.answer != Human {
			return fmt.Errorf("%w: %s without a person's answer", ErrResult, res)
		}
	case ResultMachine:
		if e.answer == Human {
			return fmt.Errorf("%w: machine after a person's answer", ErrResult)
		}
	case ResultBusy, ResultNoAnswer, ResultOutOfWindow:
		if e.answer != 0 {
			return fmt.Errorf("%w: %s after an answer", ErrResult, res)
		}
	case ResultFailed:
	default:
		return fmt.Errorf("%w: %q is not a dial's result", ErrResult, res)
	}
	delete(c.live, id)
	switch e.answer {
	case Human:
		c.waiting--
	case Machine:
		c.treating--
	default:
		c.dialing--
	}
	if res == ResultMachine && e.answered.IsZero() {
		e.answered = now
	}
	rec := Attempt{Campaign: c.cfg.ID, ID: id, Contact: e.contact, Seq: e.seq, Number: e.number, Started: e.started,
		Answered: e.answered, Ended: now, Result: res}
	c.results[res]++
	if res == ResultOutOfWindow {
		_ = c.move(e, StatePending) // allowed: e was dialing
		e.due, _ = c.cfg.Window.next(now, e.zones)
		if e.attempts > 0 {
			c.retry.push(e)
		} else {
			c.fresh.push(e)
		}
		rec.Attempt, rec.Retry = e.attempts, e.due
		c.records = append(c.records, rec)
		return nil
	}
	e.attempts++
	c.dialed++
	rec.Attempt = e.attempts
	person := res == ResultConnected || res == ResultAbandoned
	c.ctl.dialed(person, c.cfg.InitialRatio)
	if person {
		rec.Late = res == ResultConnected && now.Sub(e.answered) > c.cfg.Abandon.Grace
		abandoned := res == ResultAbandoned || rec.Late
		c.abandon.add(now, abandoned)
		if c.cfg.Mode == Predictive {
			c.ctl.settled(abandoned, c.cfg.Abandon.Target)
		}
	}
	rule := c.cfg.Retry.rule(res)
	if rule == nil || e.attempts >= rule.Attempts || e.attempts >= c.cfg.MaxAttempts {
		_ = c.move(e, StateDone) // allowed: e was dialing
		c.records = append(c.records, rec)
		return nil
	}
	_ = c.move(e, StateRetry) // allowed: e was dialing
	e.due = now.Add(rule.After)
	c.retry.push(e)
	rec.Retry = e.due
	c.records = append(c.records, rec)
	return nil
}

// ObserveHandle counts the handle time (talk and wrap-up) of a connected
// call, which predictive pacing needs.
func (c *Campaign) ObserveHandle(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ctl.handle.add(d.Seconds())
}

// Pace returns how many dials to start at now given the queue's agents
// (Pacing.Dials explains the arithmetic). Start them with Next.
func (c *Campaign) Pace(now time.Time, s Staff) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pacing(now, s).Dials()
}

// pacing fills a Pacing from the campaign's measurements.
func (c *Campaign) pacing(now time.Time, s Staff) Pacing {
	rate, _ := c.abandon.rate(now)
	return Pacing{Mode: c.cfg.Mode, Staff: s, Dialing: c.dialing, Waiting: c.waiting, Treating: c.treating,
		AnswerRate: c.ctl.answer.v, TimeToAnswer: seconds(c.ctl.tta.v), HandleTime: seconds(c.ctl.handle.v),
		Ratio: c.ctl.ratio(), InitialRatio: c.cfg.InitialRatio,
		Headroom: headroom(rate, c.cfg.Abandon.Target, c.cfg.Abandon.Cap), MaxLines: c.cfg.MaxLinesPerAgent}
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Records appends the attempt records since the last call to dst and
// returns it; each record is handed out once.
func (c *Campaign) Records(dst []Attempt) []Attempt {
	c.mu.Lock()
	defer c.mu.Unlock()
	dst = append(dst, c.records...)
	clear(c.records)
	c.records = c.records[:0]
	return dst
}
