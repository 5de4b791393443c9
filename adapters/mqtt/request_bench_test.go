package mqtt_test

import (
	"testing"

	"github.com/beckonhq/beckon/adapters/mqtt"
)

// BenchmarkDecodeRequest compares, in one binary, DecodeRequestStrict
// (encoding/json) with DecodeRequest (its fast path) on an invite and an
// accept as the remote client writes them.
func BenchmarkDecodeRequest(b *testing.B) {
	for _, c := range []struct{ name, payload string }{
		{"invite", `{"id":"1a","op":"invite","requestID":"r-17","args":{"invitee":"bob","data":"{\"call\":\"video\"}","timeout":30}}`},
		{"accept", `{"id":"1b","op":"accept","args":{"inviteID":"0196c7f2-53b4-7a31-9f4e-3c2d1b0a9e8f","data":""}}`},
	} {
		for _, side := range []struct {
			name   string
			decode func([]byte, string, string, int) (mqtt.Request, error)
		}{{"strict", mqtt.DecodeRequestStrict}, {"fast", mqtt.DecodeRequest}} {
			b.Run(c.name+"/"+side.name, func(b *testing.B) {
				payload := []byte(c.payload)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := side.decode(payload, "alice", "phone", 4096); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
