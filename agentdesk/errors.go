package agentdesk

import (
	"context"
	"errors"

	"switchboard/crmcore"
)

// Sentinel errors. Engine adapters wrap their own errors in these so the hub
// can answer with the right CTI error code.
var (
	// ErrNotFound reports an unknown call, agent or queue (CodeNotFound).
	ErrNotFound = errors.New("agentdesk: not found")
	// ErrInvalidState reports a command the current state does not allow (CodeInvalidState).
	ErrInvalidState = errors.New("agentdesk: invalid state")
	// ErrUnsupported reports a feature this deployment lacks (CodeUnsupported).
	ErrUnsupported = errors.New("agentdesk: unsupported")
	// ErrClosed reports that the hub is shut down.
	ErrClosed = errors.New("agentdesk: hub closed")
)

// errorData maps an error from the engine, the gateway or crmcore to the
// error reply sent to the client.
func errorData(err error) ErrorData {
	var fe *crmcore.FieldError
	var pe *ProtocolError
	switch {
	case errors.As(err, &pe):
		return pe.ErrorData
	case errors.As(err, &fe):
		return ErrorData{Code: CodeInvalidField, Field: "data." + fe.Field, Message: fe.Reason}
	case errors.Is(err, ErrNotFound), errors.Is(err, crmcore.ErrNotFound):
		return ErrorData{Code: CodeNotFound, Message: err.Error()}
	case errors.Is(err, ErrInvalidState), errors.Is(err, crmcore.ErrInvalidTransition), errors.Is(err, crmcore.ErrConflict):
		return ErrorData{Code: CodeInvalidState, Message: err.Error()}
	case errors.Is(err, ErrUnsupported):
		return ErrorData{Code: CodeUnsupported, Message: err.Error()}
	case errors.Is(err, crmcore.ErrUnauthenticated):
		return ErrorData{Code: CodeUnauthenticated, Message: "wrong login or password, or expired session"}
	case errors.Is(err, crmcore.ErrForbidden):
		return ErrorData{Code: CodeForbidden, Message: err.Error()}
	case errors.Is(err, crmcore.ErrInvalid):
		return ErrorData{Code: CodeInvalidField, Message: err.Error()}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, ErrClosed):
		return ErrorData{Code: CodeUnavailable, Message: "backend did not answer in time"}
	}
	return ErrorData{Code: CodeUnavailable, Message: err.Error()}
}
