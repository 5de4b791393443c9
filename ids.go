package beckon

import (
	"bufio"
	"crypto/rand"
	"io"
	"strconv"

	"github.com/beckonhq/beckon/kernel"
	"github.com/google/uuid"
)

// UUIDInviteIDs returns an invite ID source that draws random (version 4)
// UUIDs, such as "9b2c51e8-3f0a-4d6e-8a57-0c1f2e3d4b5a", reading randomness
// from src (crypto/rand.Reader if nil) through a buffer. Pass a
// deterministic reader for reproducible IDs. Like every kernel.IDSource it
// is called from the runtime's loop only and is not safe for concurrent
// use. If src fails, the ID is empty and the invite fails with 6017. (The
// runtime's default IDs are such UUIDs too, drawn by the callers and
// proposed to the kernel in the input; see WithInviteIDs.)
func UUIDInviteIDs(src io.Reader) kernel.IDSource {
	if src == nil {
		src = rand.Reader
	}
	buffered := bufio.NewReaderSize(src, 64*16)
	return kernel.IDSourceFunc(func() string {
		id, err := uuid.NewRandomFromReader(buffered)
		if err != nil {
			return ""
		}
		return id.String()
	})
}

// SequentialInviteIDs returns an invite ID source that counts: prefix+"1",
// prefix+"2", ... It suits demos and tests; IDs restart from 1 with each
// call, and an ID still in use is skipped by the kernel.
func SequentialInviteIDs(prefix string) kernel.IDSource {
	n := 0
	return kernel.IDSourceFunc(func() string {
		n++
		return prefix + strconv.Itoa(n)
	})
}

// newUUID returns a random (version 4) UUID read from crypto/rand. It is
// safe for concurrent use: with the default invite IDs, each caller of an
// invite that chooses no ID draws one on its own goroutine, so drawing
// costs the loop nothing, and proposes it to the kernel
// (kernel.Input.ProposedInviteID). The kernel draws from the runtime's
// UUIDInviteIDs(nil) instead when the proposal is empty (rand failed) or
// in use.
func newUUID() string {
	id, err := uuid.NewRandomFromReader(rand.Reader)
	if err != nil {
		return ""
	}
	return id.String()
}
