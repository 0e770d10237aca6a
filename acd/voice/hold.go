package voice

import (
	"context"
	"sync"

	"switchboard/acd"
)

// hold is what a waiting caller hears: position and expected-wait
// announcements, then music on hold, until an agent is offered the call.
type hold struct {
	call Call
	lang string

	mu     sync.Mutex
	cancel context.CancelFunc // stops what is playing
}

// follow takes the engine's events until ctx ends or the engine stops:
// completed interactions go to the recorder, the rest drive the waiting
// callers' announcements and music. After a resync (it fell behind) it
// goes on from the engine's current state; the records are never dropped.
// Once ctx ends it hands over the interactions already completed and ends
// the subscription.
func (x *Journey) follow(ctx context.Context) {
	if x.sub == nil {
		return
	}
	defer x.sub.Close()
	var evs []acd.Event
	for {
		stopping := false
		select {
		case <-x.sub.Ready():
		case <-ctx.Done():
			stopping = true
		}
		var open bool
		evs, open = x.sub.Take(evs[:0])
		for _, ev := range evs {
			switch e := ev.(type) {
			case *acd.InteractionCompleted:
				// Other channels' tasks are recorded by their own adapters.
				if ch := e.Interaction.Channel; ch == acd.ChannelVoice || ch == acd.ChannelCallback {
					x.pushInteraction(e.Interaction)
				}
			case *acd.ResyncRequired:
				if !stopping {
					_, _ = x.sub.Resync(ctx)
				}
			default:
				if !stopping {
					x.onHoldEvent(ev)
				}
			}
		}
		if stopping || !open {
			return
		}
	}
}

// onHoldEvent drives the waiting callers' announcements and music: they
// start when the call is queued (again, after a failed offer), restart with
// each position announcement, and stop as soon as an agent is offered the
// call.
func (x *Journey) onHoldEvent(ev acd.Event) {
	switch e := ev.(type) {
	case *acd.CallQueued:
		x.play(e.Call.ID, e.Position, e.EWT)
	case *acd.CallPosition:
		x.play(e.CallID, e.Position, e.EWT)
	case *acd.CallOffered:
		x.silence(e.Call.ID, false)
	case *acd.CallAnswered:
		x.silence(e.CallID, true)
	case *acd.CallEnded:
		x.silence(e.CallID, true)
	}
}

// play announces position and expected wait (when position > 0), then
// loops the music on hold, replacing whatever the caller was hearing.
func (x *Journey) play(id acd.CallID, position int, ewt acd.EWT) {
	v, ok := x.holds.Load(id)
	if !ok {
		return
	}
	h := v.(*hold)
	var announce []string
	if set := x.flows.Current(); set != nil && position > 0 {
		announce = set.Prompts().QueuePosition(h.lang, position)
		if ewt.Known {
			announce = append(announce, set.Prompts().EstimatedWait(h.lang, ewt.Expected)...)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cancel != nil {
		h.cancel()
	}
	ctx, cancel := context.WithCancel(h.call.Context())
	h.cancel = cancel
	go func() {
		if len(announce) > 0 && h.call.Play(ctx, announce, false) != nil {
			return
		}
		for x.opts.MusicOnHold != "" && ctx.Err() == nil {
			if h.call.Play(ctx, []string{x.opts.MusicOnHold}, false) != nil {
				return
			}
		}
	}()
}

// silence stops what a waiting caller hears; forget drops the caller.
func (x *Journey) silence(id acd.CallID, forget bool) {
	v, ok := x.holds.Load(id)
	if !ok {
		return
	}
	if forget {
		x.holds.Delete(id)
	}
	h := v.(*hold)
	h.mu.Lock()
	if h.cancel != nil {
		h.cancel()
		h.cancel = nil
	}
	h.mu.Unlock()
}
