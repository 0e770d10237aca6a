package stats

import "time"

// Window keeps Counts in one-minute buckets over the last hour, so the
// rolling 15- and 60-minute totals cost 60 additions, plus the counts of
// the current reporting interval (e.g. the current half hour).
type Window struct {
	interval time.Duration
	start    time.Time // when observation began
	buckets  [60]Counts
	minute   [60]int64 // the absolute minute each bucket holds
	cur      Counts
	curStart time.Time
}

// NewWindow returns a window observing from start whose current interval
// has the given length (30 minutes if interval ≤ 0), aligned to the Unix
// epoch.
func NewWindow(interval time.Duration, start time.Time) *Window {
	if interval <= 0 {
		interval = 30 * time.Minute
	}
	w := &Window{interval: interval, start: start}
	for i := range w.minute {
		w.minute[i] = -1
	}
	return w
}

func (w *Window) roll(now time.Time) {
	start := now.Truncate(w.interval)
	if !start.Equal(w.curStart) {
		w.cur = Counts{}
		w.curStart = start
	}
}

// Add records c at now.
func (w *Window) Add(now time.Time, c Counts) {
	w.roll(now)
	w.cur.Add(c)
	m := now.Unix() / 60
	i := int(m % 60)
	if w.minute[i] != m {
		w.buckets[i] = Counts{}
		w.minute[i] = m
	}
	w.buckets[i].Add(c)
}

// AddPast records c at a past time at, seen at now: in its minute when
// that is within the last hour, and in the current interval when it
// falls in it. It never moves the window forward, and observation is
// taken to have begun by at (a window seeded from records of the hour
// before it started).
func (w *Window) AddPast(now, at time.Time, c Counts) {
	if at.After(now) {
		at = now
	}
	m, cur := at.Unix()/60, now.Unix()/60
	if m <= cur-60 {
		return
	}
	w.roll(now)
	if !at.Before(w.curStart) {
		w.cur.Add(c)
	}
	i := int(m % 60)
	switch {
	case w.minute[i] == m:
	case w.minute[i] < m:
		w.buckets[i] = Counts{}
		w.minute[i] = m
	default:
		return // the bucket holds a later minute already
	}
	w.buckets[i].Add(c)
	if at.Before(w.start) {
		w.start = at
	}
}

// Last returns the totals of the last d (rounded up to whole minutes, at
// most an hour) ending at now.
func (w *Window) Last(now time.Time, d time.Duration) Counts {
	n := int64((d + time.Minute - 1) / time.Minute)
	n = min(max(n, 1), 60)
	m := now.Unix() / 60
	var out Counts
	for i := range w.buckets {
		if w.minute[i] > m-n && w.minute[i] <= m {
			out.Add(w.buckets[i])
		}
	}
	return out
}

// Recent returns the totals of the last d (at most an hour) ending at now
// with the time they cover: d, or less when the window began observing
// later. The covered time is what a rate is measured over.
func (w *Window) Recent(now time.Time, d time.Duration) (Counts, time.Duration) {
	d = min(max(d, time.Minute), time.Hour)
	n := int64((d + time.Minute - 1) / time.Minute)
	from := time.Unix((now.Unix()/60-n+1)*60, 0)
	if w.start.After(from) {
		from = w.start
	}
	return w.Last(now, d), max(now.Sub(from), 0)
}

// Interval returns the counts of the current interval and its start.
func (w *Window) Interval(now time.Time) (Counts, time.Time) {
	w.roll(now)
	return w.cur, w.curStart
}
