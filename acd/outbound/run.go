package outbound

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"switchboard/acd"
	"switchboard/acd/campaign"
	"switchboard/crmcore"
)

// run is one campaign: its rules and counts (campaign.Campaign), its
// state, and the places of its contacts in the kept list.
type run struct {
	m   *Manager
	c   *campaign.Campaign
	cfg campaign.Config
	// addMu orders appends to the list, and state changes.
	addMu sync.Mutex
	wake  chan struct{}

	mu   sync.Mutex
	info crmcore.CampaignInfo
	// pos maps the campaign's place of a contact (Dial.Seq) to its
	// position in the kept list.
	pos  []int
	recs []campaign.Attempt
}

func (m *Manager) newRun(cfg campaign.Config, info crmcore.CampaignInfo) (*run, error) {
	c, err := campaign.New(cfg, m.opts.Plan, m.store)
	if err != nil {
		return nil, err
	}
	return &run{m: m, c: c, cfg: c.Config(), info: info, wake: make(chan struct{}, 1)}, nil
}

// add gives the campaign kept contacts, in order; it returns how many
// are callable.
func (r *run) add(kept []crmcore.CampaignContact) int {
	list := make([]campaign.Contact, len(kept))
	r.mu.Lock()
	for i, k := range kept {
		list[i] = campaign.Contact{ID: k.ContactID, Number: k.Number, Name: k.Name, TimeZone: k.TimeZone}
		r.pos = append(r.pos, k.Position)
	}
	r.mu.Unlock()
	n := r.c.Add(r.m.opts.Now(), list)
	r.flush(context.Background())
	return n
}

func (r *run) state() crmcore.CampaignState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.info.State
}

func (r *run) setState(st crmcore.CampaignState) {
	r.mu.Lock()
	r.info.State = st
	r.mu.Unlock()
	r.poke()
}

// poke makes the campaign pace now.
func (r *run) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// snapshot is the campaign as the API shows it.
func (r *run) snapshot() crmcore.CampaignInfo {
	s := r.c.Stats(r.m.opts.Now())
	r.mu.Lock()
	info := r.info
	r.mu.Unlock()
	info.Stats = crmcore.CampaignStats{Contacts: s.Contacts, Pending: s.Pending, Retry: s.Retry, Done: s.Done,
		Dialed: s.Dialed, Connected: s.Connected, Abandoned: s.Abandoned, Machines: s.Machines, Busy: s.Busy,
		NoAnswer: s.NoAnswer, Failed: s.Failed, DNC: s.DNC, Uncallable: s.Uncallable, AbandonRate: s.AbandonRate,
		Answered: s.Answered, AnswerRate: s.AnswerRate, Ratio: s.Ratio, Lines: s.Lines}
	return info
}

// loop paces the campaign every step, and when poked, while it runs.
func (r *run) loop(ctx context.Context) {
	t := time.NewTicker(r.m.opts.Step)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.wake:
		}
		if r.state() != crmcore.CampaignRunning {
			continue
		}
		if err := r.pace(ctx); err != nil && ctx.Err() == nil {
			r.m.log.Warn("outbound: pacing", "campaign", r.cfg.ID, "err", err)
		}
	}
}

// pace starts the dials the campaign asks for now. The queue's idle
// agents are first those its other waiting calls will take.
func (r *run) pace(ctx context.Context) error {
	staff, err := r.m.eng.QueueStaff(ctx, r.cfg.Queue)
	if err != nil {
		return err
	}
	now := r.m.opts.Now()
	own := r.c.Stats(now).Waiting
	idle := max(0, staff.Idle-max(0, staff.Waiting-own))
	for n := r.c.Pace(now, campaign.Staff{Ready: staff.Ready, Idle: idle}); n > 0; n-- {
		d, ok, err := r.c.Next(ctx, now)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		r.m.wg.Go(func() { r.dial(ctx, d) })
	}
	r.flush(ctx)
	return nil
}

// flush takes the campaign's attempt records and marks the contacts it
// finished as done in the kept list.
func (r *run) flush(ctx context.Context) {
	r.mu.Lock()
	r.recs = r.c.Records(r.recs[:0])
	var done []int
	for _, a := range r.recs {
		if a.Retry.IsZero() && a.Result != campaign.ResultOutOfWindow && a.Seq < len(r.pos) {
			done = append(done, r.pos[a.Seq])
		}
	}
	r.mu.Unlock()
	if len(done) == 0 {
		return
	}
	if err := r.m.store.FinishCampaignContacts(context.WithoutCancel(ctx), r.cfg.ID, done); err != nil {
		r.m.log.Error("outbound: contacts finished but not marked; a restart calls them again", "campaign", r.cfg.ID, "err", err)
	}
}

// dial places one dial and sees it through until it is over, or handed
// to the queue.
func (r *run) dial(ctx context.Context, d campaign.Dial) {
	now := r.m.opts.Now()
	rec := crmcore.Interaction{ID: crmcore.NewID(), CallID: d.ID, Direction: crmcore.Outbound, Channel: crmcore.ChannelPhone,
		ANI: d.Number, DNIS: d.Number, ArrivedAt: now.UTC(), Outcome: crmcore.OutcomeInProgress, Campaign: r.cfg.ID,
		RoutingReasons: []string{}}
	defer func() {
		if p := recover(); p != nil {
			r.m.log.Error("outbound: dial panicked", "campaign", r.cfg.ID, "dial", d.ID, "panic", p)
			r.finish(ctx, d, rec, campaign.ResultFailed, fmt.Sprint(p))
		}
	}()
	if err := r.m.opts.Records.Write(context.WithoutCancel(ctx), rec); err != nil {
		// Not on disk: not dialled.
		r.m.log.Error("outbound: dial record not written; the number is not dialled", "campaign", r.cfg.ID, "err", err)
		_ = r.c.Finish(d.ID, campaign.ResultFailed, r.m.opts.Now())
		r.flush(ctx)
		return
	}
	ans, err := r.m.phone.Dial(ctx, d.Number, acd.CallInfo{ID: acd.CallID(d.ID), Channel: acd.ChannelVoice, Direction: acd.Outbound,
		Number: d.Number, ANI: d.Number, Queue: r.cfg.Queue})
	switch {
	case errors.Is(err, ErrBusy):
		r.finish(ctx, d, rec, campaign.ResultBusy, "")
		return
	case errors.Is(err, ErrNoAnswer):
		r.finish(ctx, d, rec, campaign.ResultNoAnswer, "")
		return
	case err != nil:
		r.finish(ctx, d, rec, campaign.ResultFailed, err.Error())
		return
	}
	answered := r.m.opts.Now()
	t := answered.UTC()
	rec.AnsweredAt = &t
	rec.RoutingReasons = append(rec.RoutingReasons, "amd: "+ans.Detection)
	if ans.Machine {
		_ = r.c.Answered(d.ID, campaign.Machine, answered)
		if r.cfg.AMD == campaign.Message {
			if err := r.m.phone.Play(ctx, ans.Leg, r.cfg.Prompts.Machine); err != nil {
				r.m.log.Warn("outbound: machine message", "campaign", r.cfg.ID, "err", err)
			}
		}
		_ = ans.Leg.Hangup(context.WithoutCancel(ctx))
		r.finish(ctx, d, rec, campaign.ResultMachine, "")
		return
	}
	_ = r.c.Answered(d.ID, campaign.Human, answered)
	if ans.Leg.Context().Err() != nil {
		r.finish(ctx, d, rec, campaign.ResultFailed, "hung up as answered")
		return
	}
	l := &line{r: r, dial: d, call: acd.CallID(ans.Leg.ID()), leg: ans.Leg, answered: answered}
	r.m.lines.Store(l.call, l)
	err = r.m.conn.Connect(ctx, ans.Leg, Connect{InteractionID: rec.ID, Campaign: r.cfg.ID, Queue: r.cfg.Queue, Number: d.Number,
		Name: d.Contact.Name, Dialed: now, Answered: answered, Detection: ans.Detection})
	if err != nil {
		r.m.lines.Delete(l.call)
		_ = ans.Leg.Hangup(context.WithoutCancel(ctx))
		r.finish(ctx, d, rec, campaign.ResultAbandoned, "not queued: "+err.Error())
		return
	}
	l.graceAt(r.cfg.Abandon.Grace)
}

// finish completes the record of a dial no agent took and reports its
// result to the campaign.
func (r *run) finish(ctx context.Context, d campaign.Dial, rec crmcore.Interaction, res campaign.Result, reason string) {
	now := r.m.opts.Now()
	ended := now.UTC()
	rec.EndedAt = &ended
	rec.Outcome = crmcore.OutcomeFailed
	rec.CampaignResult = string(res)
	if reason != "" {
		rec.RoutingReasons = append(rec.RoutingReasons, "campaign: "+reason)
	}
	if err := r.m.opts.Records.Write(context.WithoutCancel(ctx), rec); err != nil {
		r.m.log.Error("outbound: dial record", "campaign", r.cfg.ID, "dial", d.ID, "err", err)
	}
	if err := r.c.Finish(d.ID, res, now); err != nil {
		r.m.log.Error("outbound: dial result", "campaign", r.cfg.ID, "dial", d.ID, "err", err)
	}
	r.flush(ctx)
	r.poke()
}
