package beckon_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/beckonhq/beckon"
)

// The default push hook logs sizes, never the push info's contents.
func TestLogPushLogsNoContents(t *testing.T) {
	var buf bytes.Buffer
	hook := beckon.LogPush(slog.New(slog.NewTextHandler(&buf, nil)))
	must(t, hook.Push(beckon.PushRequest{To: "bob", InviteID: "c1", Inviter: "alice",
		Info: beckon.PushInfo{Title: "Secret title", Desc: "private words", Ext: "x-ext", Sound: "bell.mp3"}}))
	out := buf.String()
	for _, secret := range []string{"Secret title", "private words", "x-ext", "bell.mp3"} {
		if strings.Contains(out, secret) {
			t.Errorf("LogPush logged %q: got %q, want sizes only", secret, out)
		}
	}
	for _, size := range []string{"titleBytes=12", "descBytes=13"} {
		if !strings.Contains(out, size) {
			t.Errorf("LogPush: got %q, want it to contain %q", out, size)
		}
	}
}
