package beckon

import "github.com/beckonhq/beckon/kernel"

// Aliases of the kernel's types that the API of this package uses, so that
// most programs need not import the kernel.
type (
	// Event is the argument list of one SDK callback (see kernel.Event).
	Event = kernel.Event
	// PushInfo is the offline push info of a 1:1 invite (the SDK's
	// OfflinePushConfig; Desc is required).
	PushInfo = kernel.PushInfo
	// SignalingInfo is the SDK's signaling envelope of a history message.
	SignalingInfo = kernel.SignalingInfo
	// Conversation names a 1:1 or group conversation (see kernel.C2C and
	// kernel.GroupConversation).
	Conversation = kernel.Conversation
)

// GetSignalingInfo parses a signaling message, such as the Payload of a
// HistoryMessage (TIMGetSignalingInfo, HIS-3). Anything else gives an error
// wrapping kernel.ErrNotSignalingMessage (code 6017).
func GetSignalingInfo(msg []byte) (SignalingInfo, error) { return kernel.GetSignalingInfo(msg) }
