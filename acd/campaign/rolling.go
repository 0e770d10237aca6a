package campaign

import "time"

// rollingSlots is how many slots a rolling window is cut into: the rate
// is exact to a slot (a minute of a 24-hour window).
const rollingSlots = 1440

// rolling counts the calls answered by a person and those abandoned over
// a rolling window, in slots, with running totals so that reading the
// rate costs nothing and time moving on costs one step per slot passed.
type rolling struct {
	width int64 // slot width in nanoseconds
	slots [rollingSlots]slot
	last  int64 // the newest slot seen
	// live and abandoned are the totals of the slots in the window.
	live, abandoned int
}

type slot struct {
	id              int64
	live, abandoned int
}

func newRolling(span time.Duration) *rolling {
	r := &rolling{width: max(int64(span)/rollingSlots, 1), last: -1}
	for i := range r.slots {
		r.slots[i].id = -1
	}
	return r
}

// advance moves the window to now: slots that fell out of it leave the
// totals.
func (r *rolling) advance(now time.Time) int64 {
	cur := now.UnixNano() / r.width
	if cur <= r.last {
		return cur
	}
	from := max(r.last+1, cur-rollingSlots+1)
	if r.last < 0 {
		from = cur
	}
	for id := from; id <= cur; id++ {
		s := &r.slots[mod(id)]
		if s.id >= 0 {
			r.live -= s.live
			r.abandoned -= s.abandoned
		}
		*s = slot{id: id}
	}
	r.last = cur
	return cur
}

// add counts a call answered by a person at now, abandoned or not. A
// time older than the newest slot seen counts in the newest slot.
func (r *rolling) add(now time.Time, abandoned bool) {
	r.advance(now)
	s := &r.slots[mod(r.last)]
	s.live++
	r.live++
	if abandoned {
		s.abandoned++
		r.abandoned++
	}
}

// rate returns the abandoned share of the calls answered by a person in
// the window ending at now (0 without any), and how many there were.
func (r *rolling) rate(now time.Time) (float64, int) {
	r.advance(now)
	if r.live == 0 {
		return 0, 0
	}
	return float64(r.abandoned) / float64(r.live), r.live
}

func mod(id int64) int { return int(((id % rollingSlots) + rollingSlots) % rollingSlots) }
