package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"switchboard/acd"
	"switchboard/crmcore"
	"switchboard/crmcore/jobs"
	"switchboard/crmcore/pgstore"
)

// agentEventsOf maps one engine event to the entries of the event log
// (pgstore.Writer.WriteEvents) it makes, recorded by node; now stands in
// for an event without a time. Events the log does not keep (positions,
// statistics, capacity, consultations) give nil.
//
//	AgentPresenceChanged offline           → logout
//	AgentPresenceChanged reason "login"    → login (not ready)
//	AgentPresenceChanged otherwise         → presence (presence, reason)
//	AgentStateChanged                      → state (idle, reserved, on-call, on-hold, wrap-up)
//	CallQueued                             → queued (wait since queued)
//	CallOffered                            → offered (agent, wait)
//	OfferFailed rejected                   → rejected; no-answer, failed → missed; withdrawn → nil
//	CallAnswered                           → answered (agent, wait)
//	CallAbandoned                          → abandoned (wait; reason "short" for a short abandon)
//	CallTransferred                        → transferred (reason: the target)
//	CallEnded                              → completed (reason: the outcome)
//	TaskStateChanged waiting               → queued; offered → offered; active → answered;
//	                                         wrap-up → wrap-up; done → completed
//
// An agent who logs in ready is logged as a presence event: the engine
// publishes a login as the presence it starts in, and the roll-up counts
// an agent logged in from any presence other than offline. Channels are
// named as interactions name them: voice and callback tasks are "phone".
func agentEventsOf(e acd.Event, node string, now time.Time) []crmcore.AgentEvent {
	at := e.Header().At
	if at.IsZero() {
		at = now
	}
	ev := crmcore.AgentEvent{ID: crmcore.NewID(), At: at.UTC(), Node: node}
	switch e := e.(type) {
	case *acd.AgentPresenceChanged:
		ev.AgentID, ev.Presence, ev.Reason = string(e.Agent), e.Presence.String(), e.Reason
		switch {
		case e.Presence == acd.PresenceOffline:
			ev.Kind = crmcore.AgentEventLogout
		case e.Reason == acd.ReasonLogin:
			ev.Kind = crmcore.AgentEventLogin
		default:
			ev.Kind = crmcore.AgentEventPresence
		}
	case *acd.AgentStateChanged:
		ev.Kind, ev.AgentID, ev.State = crmcore.AgentEventState, string(e.Agent), e.State.String()
		ev.TaskID, ev.Queue = string(e.CallID), e.Queue
	case *acd.CallQueued:
		ev.Kind, ev.TaskID, ev.Queue, ev.Channel = crmcore.AgentEventQueued, string(e.Call.ID), e.Call.Queue, eventChannel(e.Call.Channel)
		if !e.Call.Queued.IsZero() {
			ev.Wait = at.Sub(e.Call.Queued)
		}
	case *acd.CallOffered:
		ev.Kind, ev.AgentID, ev.TaskID = crmcore.AgentEventOffered, string(e.Agent), string(e.Call.ID)
		ev.Queue, ev.Channel, ev.Wait = e.Call.Queue, eventChannel(e.Call.Channel), e.Waited
	case *acd.OfferFailed:
		switch e.Cause {
		case "rejected":
			ev.Kind = crmcore.AgentEventRejected
		case "withdrawn":
			return nil
		default:
			ev.Kind = crmcore.AgentEventMissed
		}
		ev.AgentID, ev.TaskID, ev.Reason = string(e.Agent), string(e.CallID), e.Cause
	case *acd.CallAnswered:
		ev.Kind, ev.AgentID, ev.TaskID = crmcore.AgentEventAnswered, string(e.Agent), string(e.CallID)
		ev.Queue, ev.Channel, ev.Wait = e.Queue, eventChannel(e.Channel), e.Waited
	case *acd.CallAbandoned:
		ev.Kind, ev.TaskID, ev.Queue, ev.Wait = crmcore.AgentEventAbandoned, string(e.CallID), e.Queue, e.Waited
		if e.Short {
			ev.Reason = "short"
		}
	case *acd.CallTransferred:
		ev.Kind, ev.AgentID, ev.TaskID = crmcore.AgentEventTransferred, string(e.From), string(e.CallID)
		switch {
		case e.To.Agent != "":
			ev.Reason = "agent " + string(e.To.Agent)
		case e.To.Queue != "":
			ev.Reason = "queue " + e.To.Queue
		default:
			ev.Reason = "number"
		}
	case *acd.CallEnded:
		ev.Kind, ev.AgentID, ev.TaskID = crmcore.AgentEventCompleted, string(e.Agent), string(e.CallID)
		ev.Channel, ev.Reason = eventChannel(e.Channel), string(e.Outcome)
	case *acd.TaskStateChanged:
		kinds := map[acd.TaskState]crmcore.AgentEventKind{acd.TaskWaiting: crmcore.AgentEventQueued,
			acd.TaskOffered: crmcore.AgentEventOffered, acd.TaskActive: crmcore.AgentEventAnswered,
			acd.TaskWrapUp: crmcore.AgentEventWrapUp, acd.TaskDone: crmcore.AgentEventCompleted}
		k, ok := kinds[e.State]
		if !ok || (e.Agent == "" && k != crmcore.AgentEventQueued && k != crmcore.AgentEventCompleted) {
			return nil
		}
		ev.Kind, ev.AgentID, ev.TaskID = k, string(e.Agent), string(e.TaskID)
		ev.Queue, ev.Channel = e.Queue, eventChannel(e.Channel)
	default:
		return nil
	}
	ev.Wait = min(max(ev.Wait, 0), crmcore.MaxAgentEventWait)
	if ev.Validate() != nil {
		// An id the CRM does not know (an agent outside it) or a field
		// the log refuses: the event is not logged rather than failing
		// the batch it would join.
		return nil
	}
	return []crmcore.AgentEvent{ev}
}

// eventChannel names an ACD channel as interactions do: calls are phone.
func eventChannel(ch acd.Channel) string {
	if ch == acd.ChannelVoice || ch == acd.ChannelCallback {
		return string(crmcore.ChannelPhone)
	}
	return string(ch)
}

// followEventLog writes the engine's agent and task events to the event
// log through the durable writer until ctx ends. A subscriber that falls
// behind loses the events the engine discarded for it (ResyncRequired),
// so the buffer is large and the writer's group commit takes them in
// batches.
func followEventLog(ctx context.Context, engine *acd.Engine, w *pgstore.Writer, node string, logger *slog.Logger) {
	sub, _, err := engine.Subscribe(ctx, acd.SubscribeOptions{Name: "event log", Buffer: 65536})
	if err != nil {
		logger.Error("event log: cannot follow the engine", "err", err)
		return
	}
	defer sub.Close()
	var evs []acd.Event
	var batch []crmcore.AgentEvent
	for {
		select {
		case <-ctx.Done():
			return
		case <-sub.Ready():
		}
		var open bool
		evs, open = sub.Take(evs[:0])
		batch = batch[:0]
		now := time.Now()
		for _, ev := range evs {
			if _, ok := ev.(*acd.ResyncRequired); ok {
				logger.Warn("event log: fell behind the engine; events were lost")
				_, _ = sub.Resync(ctx)
				continue
			}
			batch = append(batch, agentEventsOf(ev, node, now)...)
		}
		if len(batch) > 0 {
			if err := w.WriteEvents(ctx, batch...); err != nil && ctx.Err() == nil {
				logger.Error("event log: events not written", "events", len(batch), "err", err)
			}
		}
		if !open {
			return
		}
	}
}

// rollUpArgs is a report roll-up job: recompute the report intervals of
// the last Hours hours (and the hour under way).
type rollUpArgs struct {
	Hours int `json:"hours"`
}

// Kind implements river.JobArgs.
func (rollUpArgs) Kind() string { return "report_roll_up" }

// reportsQueue is the job queue of the roll-ups, worked by every process:
// a roll-up is one PostgreSQL transaction, serialised by the store.
const reportsQueue = "reports"

// Roll-up schedule: the recent hours often (records written late, such as
// a long call's, land in their interval on a later pass), two days hourly.
const (
	reportRollUpEvery = 5 * time.Minute
	reportRecentHours = 3
	reportWideHours   = 48
)

// rollUpWorker works the roll-up jobs. Each first stores the queues'
// service-level and short-abandon thresholds from the ACD config in force.
type rollUpWorker struct {
	river.WorkerDefaults[rollUpArgs]
	store  *pgstore.Store
	acdCfg func() *acd.Config
	log    *slog.Logger
}

// Timeout implements river.Worker; it is below the runner's rescue delay.
func (w *rollUpWorker) Timeout(*river.Job[rollUpArgs]) time.Duration { return 4 * time.Minute }

// Work implements river.Worker.
func (w *rollUpWorker) Work(ctx context.Context, job *river.Job[rollUpArgs]) error {
	for _, q := range w.acdCfg().Queues {
		sl := q.ServiceLevel
		if sl.Threshold <= 0 {
			continue // the report's default
		}
		if err := w.store.SetReportThresholds(ctx, q.Name, time.Duration(sl.Threshold), time.Duration(sl.ShortAbandon)); err != nil {
			w.log.Warn("reports: queue thresholds not stored", "queue", q.Name, "err", err)
		}
	}
	now := time.Now()
	hours := min(max(job.Args.Hours, 1), reportWideHours)
	return w.store.RollUp(ctx, now.Add(-time.Duration(hours)*time.Hour), now.Add(time.Hour))
}

// registerRollUps registers the roll-up worker and its two periodic jobs
// (both also at start) with the process's job runner. A periodic job is
// unique while it waits or runs, so a slow database does not pile them
// up.
func registerRollUps(runner *jobs.Runner, store *pgstore.Store, acdCfg func() *acd.Config, logger *slog.Logger) error {
	if err := jobs.Register(runner, &rollUpWorker{store: store, acdCfg: acdCfg, log: logger}, reportsQueue, 1); err != nil {
		return err
	}
	for _, p := range []struct {
		every time.Duration
		hours int
	}{{reportRollUpEvery, reportRecentHours}, {time.Hour, reportWideHours}} {
		args := rollUpArgs{Hours: p.hours}
		opts := &river.InsertOpts{Queue: reportsQueue, UniqueOpts: river.UniqueOpts{ByArgs: true,
			ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
				rivertype.JobStateScheduled, rivertype.JobStateRetryable}}}
		err := runner.AddPeriodic(river.NewPeriodicJob(river.PeriodicInterval(p.every),
			func() (river.JobArgs, *river.InsertOpts) { return args, opts }, &river.PeriodicJobOpts{RunOnStart: true}))
		if err != nil {
			return err
		}
	}
	return nil
}
