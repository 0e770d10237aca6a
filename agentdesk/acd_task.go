package agentdesk

import (
	"context"
	"fmt"
	"time"

	"switchboard/acd"
)

// wireCaps is a capacity map in the hub's vocabulary.
func wireCaps(m map[acd.Channel]int) map[string]int {
	out := make(map[string]int, len(m))
	for ch, n := range m {
		out[string(ch)] = n
	}
	return out
}

// TaskControl implements Engine: accept, reject, complete, transfer (to
// an agent or a queue) or wrap up a task of a channel other than voice.
func (a *ACD) TaskControl(ctx context.Context, agentID string, t TaskAction) error {
	id := acd.TaskID(t.TaskID)
	var err error
	switch t.Action {
	case TaskActAccept:
		err = a.e.Accept(ctx, acd.AgentID(agentID), id)
	case TaskActReject:
		err = a.e.RejectTask(ctx, acd.AgentID(agentID), id)
	case TaskActComplete:
		err = a.e.Complete(ctx, id)
	case TaskActTransfer:
		var to acd.TransferTarget
		switch t.Target.Kind {
		case "agent":
			to.Agent = acd.AgentID(t.Target.Value)
		case "queue":
			to.Queue = t.Target.Value
		default:
			return fmt.Errorf("%w: a task transfers to an agent or a queue", ErrInvalidState)
		}
		err = a.e.TransferTask(ctx, id, to)
	case TaskActWrapUp:
		if t.WrapUp == nil {
			return fmt.Errorf("%w: wrap-up without data", ErrInvalidState)
		}
		err = a.e.WrapTask(ctx, acd.AgentID(agentID), id, t.WrapUp.Disposition, t.WrapUp.Notes)
	default:
		return fmt.Errorf("%w: task action %q", ErrUnsupported, t.Action)
	}
	return acdErr(err)
}

func (t *translator) taskOffer(c acd.CallInfo, agent string, waited time.Duration, rs []acd.Reason, ewt acd.EWT, at, deadline time.Time) TaskOffer {
	return TaskOffer{
		TaskID: string(c.ID), Channel: string(c.Channel), AgentID: agent, Queue: c.Queue, Customer: c.Customer,
		WaitedSec: waited.Seconds(), Reasons: reasons(rs), EWTSec: ewt.Expected.Seconds(), Priority: c.Priority,
		TimeoutSec: max(0, deadline.Sub(at).Seconds()), Deadline: deadline, Data: t.pop(c.Data), DecidedAt: decidedAt(at),
	}
}

// taskStates maps the engine's task states to the desk's.
var taskStates = map[acd.TaskState]string{acd.TaskOffered: TaskStateOffered, acd.TaskActive: TaskStateActive, acd.TaskWrapUp: TaskStateWrapUp}

// stateTasks adds to st the tasks of s's agents with their pops.
func (t *translator) stateTasks(st *State, s acd.Snapshot) {
	live := map[acd.TaskID]acd.CallSnapshot{}
	for _, c := range s.Calls {
		if !IsVoice(string(c.Call.Channel)) {
			live[c.Call.ID] = c
		}
	}
	for _, a := range s.Agents {
		for _, ts := range a.Tasks {
			state, ok := taskStates[ts.State]
			if !ok {
				continue
			}
			v := TaskView{TaskInfo: TaskInfo{TaskID: string(ts.ID), Channel: string(ts.Channel), AgentID: string(a.ID),
				Queue: ts.Queue, State: state, Since: s.At}}
			if c, ok := live[ts.ID]; ok {
				pop := t.taskOffer(c.Call, string(a.ID), c.Waited, c.Reasons, c.EWT, s.At, c.RingDeadline)
				v.Pop = &pop
				if state == TaskStateOffered {
					v.Deadline = c.RingDeadline
				}
			}
			st.Tasks = append(st.Tasks, v)
		}
	}
}

// translateTask appends the hub events a task's (not a call's) engine
// event stands for; ok is false for events that are not about a task.
func (t *translator) translateTask(out []Event, ev acd.Event) (_ []Event, ok bool) {
	switch e := ev.(type) {
	case *acd.TaskStateChanged:
		if e.Agent == "" {
			return out, true
		}
		if _, known := t.calls[string(e.TaskID)]; !known && e.State != acd.TaskDone {
			// A task adopted by its agent (accepted before a restart) has
			// no offer: its first event names it.
			t.calls[string(e.TaskID)] = acd.CallInfo{ID: e.TaskID, Channel: e.Channel, Queue: e.Queue}
		}
		info := TaskInfo{TaskID: string(e.TaskID), Channel: string(e.Channel), AgentID: string(e.Agent), Queue: e.Queue, Since: e.At}
		switch e.State {
		case acd.TaskActive:
			info.State = TaskStateActive
		case acd.TaskWrapUp:
			info.State, info.Deadline = TaskStateWrapUp, e.WrapUpEnd
		case acd.TaskDone:
			info.State, info.Reason = TaskStateEnded, ReasonCompleted
		default:
			// Offered arrives with its pop (CallOffered); back to waiting
			// with its cause (OfferFailed).
			return out, true
		}
		return append(out, info), true
	case *acd.CallOffered:
		if IsVoice(string(e.Call.Channel)) {
			return out, false
		}
		t.calls[string(e.Call.ID)] = e.Call
		return append(out, CallGone{CallID: string(e.Call.ID), Queue: e.Call.Queue},
			t.taskOffer(e.Call, string(e.Agent), e.Waited, e.Reasons, e.EWT, e.At, e.Deadline)), true
	case *acd.OfferFailed:
		c, known := t.calls[string(e.CallID)]
		if !known || IsVoice(string(c.Channel)) {
			return out, false
		}
		return append(out, TaskInfo{TaskID: string(e.CallID), Channel: string(c.Channel), AgentID: string(e.Agent),
			Queue: c.Queue, State: TaskStateEnded, Since: e.At, Reason: e.Cause}), true
	case *acd.CallAnswered:
		if IsVoice(string(e.Channel)) {
			return out, false
		}
		return append(out, CallGone{CallID: string(e.CallID), Queue: e.Queue}), true
	case *acd.CallTransferred:
		c, known := t.calls[string(e.CallID)]
		if !known || IsVoice(string(c.Channel)) {
			return out, false
		}
		return append(out, TaskInfo{TaskID: string(e.CallID), Channel: string(c.Channel), AgentID: string(e.From),
			Queue: c.Queue, State: TaskStateTransferred, Since: e.At, Target: string(e.To.Agent) + e.To.Queue}), true
	case *acd.CallEnded:
		if IsVoice(string(e.Channel)) {
			return out, false
		}
		c := t.calls[string(e.CallID)]
		delete(t.calls, string(e.CallID))
		return append(out, CallGone{CallID: string(e.CallID), Queue: c.Queue}), true
	}
	return out, false
}
