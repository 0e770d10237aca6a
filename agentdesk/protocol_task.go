package agentdesk

import "fmt"

// TaskRef is the data of the commands that act on one task of a channel
// other than voice (accept, reject, complete).
type TaskRef struct {
	TaskID string `json:"task_id"`
}

// TaskTransfer is the data of "task.transfer": Target's kind is "agent"
// or "queue".
type TaskTransfer struct {
	TaskID string         `json:"task_id"`
	Target TransferTarget `json:"target"`
}

// TaskWrapUp is the data of "task.wrapup": the task's disposition (from
// the configured list) and notes; in wrap-up it ends the wrap-up.
type TaskWrapUp struct {
	TaskID      string `json:"task_id"`
	Disposition string `json:"disposition"`
	Notes       string `json:"notes,omitempty"`
	// LinkTicket or CreateTicket keep a chat under a help-desk ticket, as
	// a call's wrap-up does (tasks of other channels are tickets or leads
	// already).
	LinkTicket   string     `json:"link_ticket,omitempty"`
	CreateTicket *NewTicket `json:"create_ticket,omitempty"`
}

func vTaskRef(v any) *ProtocolError { return short("data.task_id", v.(*TaskRef).TaskID, true) }

func vTaskTransfer(v any) *ProtocolError {
	d := v.(*TaskTransfer)
	if e := short("data.task_id", d.TaskID, true); e != nil {
		return e
	}
	switch d.Target.Kind {
	case "":
		return missing("data.target.kind")
	case "agent", "queue":
	default:
		return bad("data.target.kind", `must be "agent" or "queue"`)
	}
	return short("data.target.value", d.Target.Value, true)
}

func vTaskWrapUp(v any) *ProtocolError {
	d := v.(*TaskWrapUp)
	if e := short("data.task_id", d.TaskID, true); e != nil {
		return e
	}
	if e := short("data.disposition", d.Disposition, true); e != nil {
		return e
	}
	if len(d.Notes) > maxNotesLen {
		return bad("data.notes", fmt.Sprintf("longer than %d bytes", maxNotesLen))
	}
	return vTicket(d.LinkTicket, d.CreateTicket)
}
