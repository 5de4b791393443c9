// Package port holds the data types that cross beckon's storage port, so
// that adapters can implement beckon.Store without importing the root
// package (which imports adapters/memory for its defaults). Use them through
// their aliases in the root package: beckon.Batch and beckon.HistoryMessage.
package port

import (
	"time"

	"github.com/beckonhq/beckon/kernel"
)

// Batch is what one Store.Append makes durable: the logged inputs and the
// history messages they produced (HIS-1), so history is never lost between
// an input being durable and its outputs being stored.
type Batch struct {
	Records []kernel.Record
	History []kernel.History
}

// HistoryMessage is one stored signaling message of a conversation.
type HistoryMessage struct {
	Seq     uint64 // per conversation, from 1, in append order
	Sender  string
	At      time.Time
	Payload []byte // the SDK's JSON envelope (kernel.MarshalSignalingInfo)
}
