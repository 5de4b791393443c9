package mqttload

import "testing"

// seqOf reads the seq of an event however its keys are ordered, and
// refuses a payload without one.
func TestSeqOf(t *testing.T) {
	for _, c := range []struct {
		payload string
		seq     uint64
		ok      bool
	}{
		{`{"seq":17,"type":"InviteeAccepted"}`, 17, true},
		{`{"seq":0,"type":"Session","resumed":false,"expiry":0}`, 0, true},
		{`{"seq":18446744073709551615}`, 1<<64 - 1, true},
		{`{"type":"InviteeAccepted","seq":9}`, 9, true},
		{`{"seq": 5, "type":"x"}`, 5, true},
		{`{"seq":12a}`, 0, false},
		{`{"seq":18446744073709551616}`, 0, false},
		{`{"type":"x"}`, 0, false},
		{`not json`, 0, false},
	} {
		seq, ok := seqOf([]byte(c.payload))
		if seq != c.seq || ok != c.ok {
			t.Errorf("seqOf(%s): got %d, %v, want %d, %v", c.payload, seq, ok, c.seq, c.ok)
		}
	}
}
