package campaign

import "time"

// Stats is a campaign's state for the wallboard.
type Stats struct {
	ID, Name, Queue string
	Mode            Mode
	// Contacts counts the list; Pending, Retry and Done the contacts in
	// those states.
	Contacts, Pending, Retry, Done int
	// Dialed counts dials placed; Connected, Abandoned, Machines, Busy,
	// NoAnswer and Failed their results; DNC and Uncallable the contacts
	// finished without a dial.
	Dialed, Connected, Abandoned, Machines, Busy, NoAnswer, Failed, DNC, Uncallable int
	// AbandonRate is the abandoned share of the calls answered by a
	// person over the rolling window (Answered of them), late
	// connections included.
	AbandonRate float64
	Answered    int
	// AnswerRate is the measured share of dials a person answers.
	AnswerRate float64
	// Ratio is the pacing ratio: lines dialled per agent expected free
	// (at least 1 for predictive, 1 for progressive, 0 for preview).
	Ratio float64
	// Lines are in progress: Dialing, Waiting for an agent after a
	// person answered, or Treating a machine.
	Lines, Dialing, Waiting, Treating int
}

// Stats returns the campaign's statistics at now.
func (c *Campaign) Stats(now time.Time) Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	rate, answered := c.abandon.rate(now)
	s := Stats{ID: c.cfg.ID, Name: c.cfg.Name, Queue: c.cfg.Queue, Mode: c.cfg.Mode, Contacts: c.n,
		Pending: c.states[StatePending], Retry: c.states[StateRetry], Done: c.states[StateDone],
		Dialed: c.dialed, Connected: c.results[ResultConnected], Abandoned: c.results[ResultAbandoned],
		Machines: c.results[ResultMachine], Busy: c.results[ResultBusy], NoAnswer: c.results[ResultNoAnswer],
		Failed: c.results[ResultFailed], DNC: c.results[ResultDNC], Uncallable: c.results[ResultUncallable],
		AbandonRate: rate, Answered: answered, AnswerRate: c.ctl.answer.v,
		Lines: c.dialing + c.waiting + c.treating, Dialing: c.dialing, Waiting: c.waiting, Treating: c.treating}
	switch c.cfg.Mode {
	case Progressive:
		s.Ratio = 1
	case Predictive:
		// Never below the progressive floor of one line per free agent.
		p := c.pacing(now, Staff{})
		s.Ratio = p.InitialRatio * p.Headroom
		if p.Ratio > 0 && p.AnswerRate > 0 {
			s.Ratio = p.Headroom * p.Ratio / p.AnswerRate
		}
		s.Ratio = max(s.Ratio, 1)
	}
	return s
}
