package sip

import (
	"context"
	"fmt"
	"time"

	"switchboard/acd"
	"switchboard/acd/dialplan"
	"switchboard/sip/media"
)

// DialDetect dials number for an outbound campaign (dial plan role
// campaign), ringing at most ring, and once it is answered listens to
// the answered party with answering-machine detection (cfg) until it
// decides or its analysis time runs out (AMDNotSure). The answered leg
// stays up for the caller to connect, treat or hang up. Failures wrap
// ErrBusy, ErrNoAnswer, ErrRejected or ErrNotFound as Dial's do; a leg
// that hangs up before the verdict is returned with an error wrapping
// ErrCallEnded.
func (a *Agents) DialDetect(ctx context.Context, number string, call acd.CallInfo, ring time.Duration, cfg media.AMDConfig) (*Call, media.AMDResult, error) {
	c, err := a.g.Dial(ctx, number, DialOptions{Timeout: ring, CallerID: a.opts.CallerID, Role: dialplan.RoleCampaign})
	if err != nil {
		return nil, media.AMDResult{}, err
	}
	det := media.NewAMD(cfg)
	verdict := make(chan media.AMDResult, 1)
	decided := false
	// The tap runs on the session's receive goroutine, one frame at a
	// time: the detector needs no lock.
	stop := c.HearCaller(func(frame []int16) {
		if decided {
			return
		}
		if r, done := det.Feed(frame); done {
			decided = true
			verdict <- r
		}
	})
	defer stop()
	// A far end that sends no audio at all still gets a verdict.
	quiet := time.NewTimer(det.Config().TotalAnalysisTime + time.Second)
	defer quiet.Stop()
	select {
	case r := <-verdict:
		return c, r, nil
	case <-quiet.C:
		return c, media.AMDResult{Status: media.AMDNotSure, Cause: media.AMDCauseTooLong, Elapsed: det.Config().TotalAnalysisTime}, nil
	case <-c.Context().Done():
		return c, media.AMDResult{}, fmt.Errorf("%w: hung up during answering-machine detection", ErrCallEnded)
	case <-ctx.Done():
		_ = c.Hangup(context.WithoutCancel(ctx))
		return nil, media.AMDResult{}, ctx.Err()
	}
}

// PlayTo plays the prompt files to leg (a gateway leg) and returns when
// they have been played or the leg ended.
func (a *Agents) PlayTo(ctx context.Context, leg acd.Leg, files []string) error {
	c, err := legCall(leg)
	if err != nil {
		return err
	}
	return c.Play(ctx, files, false)
}
