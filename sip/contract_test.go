package sip

import (
	"context"
	"time"
)

// The interfaces ivr and acd declare (copied, not imported: the adapter
// must not depend on the core's build to compile its own tests). The
// wiring in cmd/switchboard asserts against the real ones.
type (
	ivrSession interface {
		Play(ctx context.Context, files []string, interruptible bool) error
		ReadDigit(ctx context.Context, timeout time.Duration) (digit byte, ok bool, err error)
		Record(ctx context.Context, file string, max time.Duration) (time.Duration, error)
	}
	acdLeg interface {
		ID() string
		Context() context.Context
		Hangup(ctx context.Context) error
	}
	acdHolder interface {
		Hold(ctx context.Context, on bool) error
	}
	contractCall interface {
		ivrSession
		acdLeg
		acdHolder
		ANI() string
		DNIS() string
		SendDTMF(ctx context.Context, digits string) error
	}
	contractGateway interface {
		Serve(ctx context.Context) error
		Dial(ctx context.Context, target string, opts DialOptions) (*Call, error)
		Bridge(ctx context.Context, a, b *Call) error
		StartRecording(a, b *Call, file string) (stop func() error, err error)
		AcceptWebRTC(ctx context.Context, offerSDP string, info WebRTCInfo) (*Call, string, error)
		Drain()
	}
)

var (
	_ contractCall    = (*Call)(nil)
	_ contractGateway = (*Gateway)(nil)
)
