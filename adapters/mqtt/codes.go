package mqtt

import (
	"context"
	"errors"

	"github.com/beckonhq/beckon/adapters/mqtt/wire"
	"github.com/beckonhq/beckon/kernel"
)

// Codes of the adapter's own refusals and failures (docs/protocol.md).
const (
	codeShuttingDown    = 6013 // the server is stopping: not applied
	codeServerFailed    = 6022 // the store (or the engine) failed
	codeTooManyRequests = 7008 // over the request rate: not applied
)

// codedError is a refusal of the adapter itself, with its SDK code.
type codedError struct {
	code int
	msg  string
}

func (e *codedError) Error() string { return e.msg }
func (e *codedError) Code() int     { return e.code }

var errTooManyRequests = &codedError{codeTooManyRequests,
	"beckon: too many requests (7008): not applied; slow down (see the server's request rate limit)"}

// codeOf is the SDK code of an error of the Engine or the adapter: the
// kernel's, else that of an error with a Code method (the runtime's), else
// 6013 for a cancelled context (the server is stopping), else 6022.
func codeOf(err error) int {
	if c := kernel.Code(err); c >= 0 {
		return c
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		return coded.Code()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return codeShuttingDown
	}
	return codeServerFailed
}

// failure is the reply to a request that failed with err.
func failure(id string, err error) wire.Reply[any] {
	return wire.Reply[any]{ID: id, Code: codeOf(err), Message: err.Error()}
}
