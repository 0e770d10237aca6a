package main

import (
	"context"

	"switchboard/acd"
	"switchboard/crmcore"
)

// recorder returns the voice journey's recorder rec with traces: every
// record is written through rec first, then a completed call that never
// reached the engine gets its trace from its record (the engine's
// follower traces the others, on the routing node). With t nil it
// returns rec itself.
func (t *traces) recorder(rec crmcore.InteractionRecorder) crmcore.InteractionRecorder {
	if t == nil {
		return rec
	}
	return tracedRecorder{InteractionRecorder: rec, traces: t}
}

// tracedRecorder is a journey's recorder that traces the calls ended
// before the engine. Its trace is best-effort: the batching exporter only
// queues the spans, so Write's result and latency are rec's own.
type tracedRecorder struct {
	crmcore.InteractionRecorder
	traces *traces
}

// Write writes in through the recorder, then traces it when it completes
// a call the engine never had. The call happened whether or not its
// record could be written, so a failed write is traced too.
func (r tracedRecorder) Write(ctx context.Context, in crmcore.Interaction) error {
	err := r.InteractionRecorder.Write(ctx, in)
	if endedBeforeEngine(in) && sampled(in.ID, r.traces.ratio) {
		r.traces.exportRecord(in)
	}
	return err
}

// endedBeforeEngine reports whether in is the completed record of a call
// that never reached the engine (ended in the IVR, refused, failed): the
// engine gives every call it takes a queue time, which the journey
// copies to the call's record.
func endedBeforeEngine(in crmcore.Interaction) bool {
	return in.Outcome != crmcore.OutcomeInProgress && in.QueuedAt == nil
}

// exportRecord builds and ends the spans of a call that ended before the
// engine, from its record: the call, and the IVR when it ran.
func (t *traces) exportRecord(in crmcore.Interaction) {
	end := in.ArrivedAt
	if in.EndedAt != nil {
		end = *in.EndedAt
	}
	// The journey's records are voice calls: the channel is named as in
	// the engine's traces.
	root, s := t.startCall(in.ID, in.ArrivedAt, callSummary{callID: in.CallID, channel: acd.ChannelVoice,
		outcome: string(in.Outcome), failed: in.Outcome == crmcore.OutcomeFailed, queue: in.Queue, agent: in.AgentID})
	if len(in.IVRPath) > 0 {
		_, is := t.span(root, "ivr", in.ArrivedAt)
		ivrEvents(is, in.ArrivedAt, in.IVRPath)
		endSpan(is, in.ArrivedAt, end)
	}
	endSpan(s, in.ArrivedAt, end)
}
