package agentdesk

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// Channels of the voice machine: their offers and calls travel as call.*
// messages; every other channel's tasks as task.* messages.
const (
	ChannelVoice    = "voice"
	ChannelCallback = "callback"
)

// IsVoice reports whether channel belongs to the voice machine (an empty
// channel is a call of an engine that names none).
func IsVoice(channel string) bool {
	return channel == "" || channel == ChannelVoice || channel == ChannelCallback
}

// Task states of TaskInfo, as the agent holding the task sees them.
const (
	TaskStateOffered     = "offered"     // ringing on the desk: accept or reject
	TaskStateActive      = "active"      // the agent works on it
	TaskStateWrapUp      = "wrap-up"     // after-task work until Deadline
	TaskStateTransferred = "transferred" // handed on (Target); wrap-up follows
	TaskStateEnded       = "ended"       // off this agent's desk (Reason)
)

// Actions of TaskAction.
const (
	TaskActAccept   = "accept"
	TaskActReject   = "reject"
	TaskActComplete = "complete"
	TaskActTransfer = "transfer"
	TaskActWrapUp   = "wrapup"
)

// TaskAction is one agent action on a task of a channel other than voice.
type TaskAction struct {
	Action string
	TaskID string
	Target TransferTarget // TaskActTransfer: kind agent or queue
	WrapUp *TaskWrapUp    // TaskActWrapUp
}

// TaskInfo is a task of a channel other than voice (a chat, an email, a
// ticket, a lead) as the agent it is offered to or held by sees it: one
// per change of its state on that agent's desk.
type TaskInfo struct {
	TaskID  string    `json:"task_id"`
	Channel string    `json:"channel"`
	AgentID string    `json:"agent_id"`
	Queue   string    `json:"queue,omitempty"`
	State   string    `json:"state"` // offered, active, wrap-up, transferred, ended
	Since   time.Time `json:"since"`
	// Deadline is when an offer stops ringing or a wrap-up ends.
	Deadline time.Time `json:"deadline,omitzero"`
	Target   string    `json:"target,omitempty"` // transferred: the agent or queue
	// Reason says why a task ended on this desk: no-answer, rejected,
	// failed, withdrawn (an offer), completed (after wrap-up).
	Reason string `json:"reason,omitempty"`
}

// TaskOffer is a task offered to one agent: everything its pop shows.
// Data is the channel's attachment (the CRM lookup), marshalled verbatim
// as "crm".
type TaskOffer struct {
	TaskID     string    `json:"task_id"`
	Channel    string    `json:"channel"`
	AgentID    string    `json:"agent_id"`
	Queue      string    `json:"queue"`
	Customer   string    `json:"customer,omitempty"` // the CRM identity
	WaitedSec  float64   `json:"waited_s"`
	Reasons    []string  `json:"routing_reasons"`
	EWTSec     float64   `json:"ewt_s"`
	Priority   int       `json:"priority"`
	TimeoutSec float64   `json:"timeout_s"`
	Deadline   time.Time `json:"deadline"` // when the offer stops ringing
	Data       any       `json:"crm"`
	DecidedAt  time.Time `json:"decided_at"`
}

// TaskView is a task on an agent's desk with its pop (null when the hub
// has none, e.g. a task handed on).
type TaskView struct {
	TaskInfo
	Pop *TaskOffer `json:"pop"`
}

func (TaskInfo) isEvent()  {}
func (TaskOffer) isEvent() {}

// ReasonCompleted is TaskInfo.Reason of a task that ended after its
// wrap-up.
const ReasonCompleted = "completed"

// holds reports whether state keeps a task on the agent's desk (and on
// its capacity).
func holds(state string) bool { return state != TaskStateEnded }

// deskTasks are the tasks on one agent's desk, by task id.
type deskTasks map[string]TaskView

// onTaskOffer records a task's pop and offers it on the agent's desk; with
// no desk connected it is handed back at once.
func (h *Hub) onTaskOffer(e TaskOffer) {
	f := &h.floor
	ts := f.tasks[e.AgentID]
	if ts == nil {
		ts = deskTasks{}
		f.tasks[e.AgentID] = ts
	}
	pop := e
	ts[e.TaskID] = TaskView{TaskInfo: TaskInfo{TaskID: e.TaskID, Channel: e.Channel, AgentID: e.AgentID, Queue: e.Queue,
		State: TaskStateOffered, Since: e.DecidedAt, Deadline: e.Deadline}, Pop: &pop}
	h.dirtyA[e.AgentID] = true
	c := h.desks[e.AgentID]
	if c == nil {
		h.taskGone(e.AgentID, e.TaskID)
		return
	}
	b, err := encode(EvTaskOffered, "", e)
	if err != nil {
		h.log.Error("agentdesk: encode task pop", "task_id", e.TaskID, "err", err)
		e.Data = nil
		b, _ = encode(EvTaskOffered, "", e)
	}
	c.enqueue(outMsg{typ: EvTaskOffered, b: b, decided: e.DecidedAt})
	h.sendStatus(c)
}

// onTaskInfo applies a task's change on an agent's desk and tells the
// desk; a task that ended leaves it (and frees its capacity).
func (h *Hub) onTaskInfo(e TaskInfo) {
	f := &h.floor
	ts := f.tasks[e.AgentID]
	h.dirtyA[e.AgentID] = true
	if !holds(e.State) {
		v, ok := ts[e.TaskID]
		if !ok {
			return // never on this desk (an offer that failed before the pop)
		}
		if e.Reason == ReasonCompleted && v.State != TaskStateWrapUp {
			// The end of the wrap-up of a part handed on, while the same
			// task came back to this agent: the desk keeps the new part.
			return
		}
		delete(ts, e.TaskID)
		if len(ts) == 0 {
			delete(f.tasks, e.AgentID)
		}
	} else {
		if ts == nil {
			ts = deskTasks{}
			f.tasks[e.AgentID] = ts
		}
		v := ts[e.TaskID]
		if e.State == TaskStateWrapUp && v.Target != "" {
			e.Target = v.Target // the wrap-up of a task handed on
		}
		v.TaskInfo = e
		ts[e.TaskID] = v
	}
	c := h.desks[e.AgentID]
	if c == nil {
		return
	}
	c.sendEvent(EvTaskState, "", e)
	if !holds(e.State) {
		h.sendStatus(c)
	}
}

// sendStatus sends the agent's status with its current load.
func (h *Hub) sendStatus(c *client) {
	if s, ok := h.floor.agents[c.id.AgentID]; ok {
		c.sendEvent(EvAgentState, "", h.withLoad(s))
	}
}

// withLoad returns s with Load: the tasks the agent holds per channel,
// their call (voice or callback) included.
func (h *Hub) withLoad(s AgentStatus) AgentStatus {
	ts := h.floor.tasks[s.AgentID]
	if len(ts) == 0 && (s.State == "" || s.State == "idle") {
		s.Load = nil
		return s
	}
	load := map[string]int{}
	if s.State != "" && s.State != "idle" {
		ch := s.Channel
		if ch == "" {
			ch = ChannelVoice
		}
		load[ch]++
	}
	for _, t := range ts {
		load[t.Channel]++
	}
	s.Load = load
	return s
}

// deskTaskList is the agent's tasks, oldest offer first.
func (h *Hub) deskTaskList(agentID string) []TaskView {
	ts := h.floor.tasks[agentID]
	out := make([]TaskView, 0, len(ts))
	for _, t := range ts {
		out = append(out, t)
	}
	sortTasks(out)
	return out
}

// taskGone tells the engine, off the hub goroutine, that the agent cannot
// take the offered task: it goes to the next agent.
func (h *Hub) taskGone(agentID, taskID string) {
	h.background(func(ctx context.Context) {
		err := h.cfg.Engine.TaskControl(ctx, agentID, TaskAction{Action: TaskActReject, TaskID: taskID})
		if err != nil && !isQuiet(err) {
			h.log.Warn("agentdesk: withdraw task offer", "agent_id", agentID, "task_id", taskID, "err", err)
		}
	})
}

// checkTask verifies, on the hub goroutine, that taskID is on the agent's
// desk in one of states, so that a stale click never acts on another task.
// The wrap-up of a task the agent handed on is not theirs to submit: the
// task goes on under the same id with another agent, and it ends on its
// own when its time is up.
func (h *Hub) checkTask(agentID, taskID string, states ...string) (channel string, err error) {
	var ok, held bool
	if err := h.do(func() {
		t, has := h.floor.tasks[agentID][taskID]
		held, channel = has, t.Channel
		for _, s := range states {
			ok = ok || (has && t.State == s)
		}
	}); err != nil {
		return "", err
	}
	switch {
	case !held:
		return "", &ProtocolError{ErrorData: ErrorData{Code: CodeNotFound, Field: "data.task_id", Message: "no such task on this agent"}}
	case !ok:
		return "", &ProtocolError{ErrorData: ErrorData{Code: CodeInvalidState, Field: "data.task_id", Message: "the task is not in a state that allows this"}}
	}
	return channel, nil
}

// taskCommand runs one task.* command; a wrap-up that keeps a chat under a
// ticket replies with the ticket's number.
func (h *Hub) taskCommand(ctx context.Context, agentID string, cmd Command) (any, error) {
	var a TaskAction
	var states []string
	switch d := cmd.Data.(type) {
	case *TaskRef:
		a.TaskID = d.TaskID
		switch cmd.Type {
		case CmdTaskAccept:
			a.Action, states = TaskActAccept, []string{TaskStateOffered}
		case CmdTaskReject:
			a.Action, states = TaskActReject, []string{TaskStateOffered}
		default:
			a.Action, states = TaskActComplete, []string{TaskStateActive}
		}
	case *TaskTransfer:
		a = TaskAction{Action: TaskActTransfer, TaskID: d.TaskID, Target: d.Target}
		states = []string{TaskStateActive}
	case *TaskWrapUp:
		if !knownCode(h.cfg.Dispositions, d.Disposition, false) {
			return nil, &ProtocolError{ErrorData: ErrorData{Code: CodeInvalidField, Field: "data.disposition", Message: "not a configured disposition code"}}
		}
		a = TaskAction{Action: TaskActWrapUp, TaskID: d.TaskID, WrapUp: d}
		states = []string{TaskStateActive, TaskStateWrapUp}
	}
	channel, err := h.checkTask(agentID, a.TaskID, states...)
	if err != nil {
		return nil, err
	}
	var data any
	if d, ok := cmd.Data.(*TaskWrapUp); ok && (d.LinkTicket != "" || d.CreateTicket != nil) {
		switch {
		case channel != "chat":
			return nil, &ProtocolError{ErrorData: ErrorData{Code: CodeInvalidField, Field: "data.create_ticket",
				Message: "only a chat is kept under a ticket at wrap-up"}}
		case h.cfg.Tickets == nil:
			return nil, &ProtocolError{ErrorData: ErrorData{Code: CodeUnsupported, Field: "data.create_ticket", Message: "ticketing is not wired"}}
		}
		number, err := h.cfg.Tickets.WrapUpTicket(ctx, agentID, d.TaskID,
			WrapUp{CallID: d.TaskID, Disposition: d.Disposition, Notes: d.Notes, LinkTicket: d.LinkTicket, CreateTicket: d.CreateTicket})
		if err != nil {
			return nil, err
		}
		data = map[string]string{"ticket_id": number}
	}
	return data, h.cfg.Engine.TaskControl(ctx, agentID, a)
}

// sortTasks orders tasks by the time they reached their state, then id.
func sortTasks(ts []TaskView) {
	slices.SortFunc(ts, func(a, b TaskView) int {
		if c := a.Since.Compare(b.Since); c != 0 {
			return c
		}
		return strings.Compare(a.TaskID, b.TaskID)
	})
}

// isQuiet reports whether err from handing an offer back means there was
// nothing left to hand back.
func isQuiet(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidState)
}
