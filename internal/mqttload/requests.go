package mqttload

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Reply is the answer to one request ("Requests and replies").
type Reply struct {
	ID      string          `json:"id"`
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Result  json.RawMessage `json:"result"`
}

// request is a request's payload ("Requests and replies").
type request struct {
	ID        string `json:"id"`
	Op        string `json:"op"`
	Args      any    `json:"args"`
	RequestID string `json:"requestID,omitempty"`
}

// Replies pairs a device's requests with their replies by correlation ID.
// The zero value is ready; it serves one device, over any number of
// connections.
type Replies struct {
	next    atomic.Uint64
	mu      sync.Mutex
	waiting map[string]chan Reply
}

// Call sends one request (send publishes its payload on the request
// topic) and waits for its reply within Patience, or until lost is closed
// or Fail is called: the connection ended. requestID may be "" (IDM-1).
// cid names the device in errors.
func (w *Replies) Call(cid, op string, args any, requestID string, send func(payload []byte) error,
	lost <-chan struct{}) (Reply, error) {
	id := "c-" + strconv.FormatUint(w.next.Add(1), 10)
	payload, err := json.Marshal(request{ID: id, Op: op, Args: args, RequestID: requestID})
	if err != nil {
		return Reply{}, fmt.Errorf("mqttload: %s: %s: arguments: %w", cid, op, err)
	}
	ch := make(chan Reply, 1)
	w.mu.Lock()
	if w.waiting == nil {
		w.waiting = make(map[string]chan Reply)
	}
	w.waiting[id] = ch
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.waiting, id)
		w.mu.Unlock()
	}()
	if err := send(payload); err != nil {
		return Reply{}, fmt.Errorf("mqttload: %s: %s: publishing: %w", cid, op, err)
	}
	t := time.NewTimer(Patience)
	defer t.Stop()
	select {
	case r, ok := <-ch:
		if ok {
			return r, nil
		}
	case <-lost:
	case <-t.C:
		return Reply{}, fmt.Errorf("mqttload: %s: %s: no reply within %v", cid, op, Patience)
	}
	return Reply{}, fmt.Errorf("mqttload: %s: %s: connection lost before the reply", cid, op)
}

// Deliver hands a reply's payload to the call waiting for it; a reply
// nobody waits for (late, or not JSON) is dropped.
func (w *Replies) Deliver(payload []byte) {
	r, ok := parseReply(payload)
	if !ok {
		return
	}
	w.mu.Lock()
	ch := w.waiting[r.ID]
	delete(w.waiting, r.ID)
	w.mu.Unlock()
	if ch != nil {
		ch <- r
	}
}

// Fail ends every call waiting: their connection ended.
func (w *Replies) Fail() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, ch := range w.waiting {
		close(ch)
		delete(w.waiting, id)
	}
}

// Caller is a device that sends requests: Device, and internal/scale's.
type Caller interface {
	ClientID() string
	Call(op string, args any, requestID string) (Reply, error)
}

type inviteArgs struct {
	Invitee string `json:"invitee"`
	Data    string `json:"data"`
	Timeout int    `json:"timeout"`
}

type answerArgs struct {
	InviteID string `json:"inviteID"`
	Data     string `json:"data"`
}

// Invite calls invite on c (timeout in seconds, 0: none) and returns the
// invitation's ID; a reply with a non-zero code is an error.
func Invite(c Caller, invitee, data string, timeout int) (string, error) {
	r, err := c.Call("invite", inviteArgs{Invitee: invitee, Data: data, Timeout: timeout}, "")
	if err != nil {
		return "", err
	}
	if r.Code != 0 {
		return "", fmt.Errorf("mqttload: %s: invite: code %d: %s", c.ClientID(), r.Code, r.Message)
	}
	id, ok := inviteIDOf(r.Result)
	if !ok {
		return "", fmt.Errorf("mqttload: %s: invite: result %s: want {\"inviteID\": ...}", c.ClientID(), r.Result)
	}
	return id, nil
}

// The load shares the server's CPUs, so a reply written the way the
// server writes it (keys in that order, strings without escapes) is read
// without encoding/json; any other is decoded.

// parseReply reads a reply's payload.
func parseReply(p []byte) (Reply, bool) {
	if r, ok := quickReply(p); ok {
		return r, true
	}
	var r Reply
	return r, json.Unmarshal(p, &r) == nil
}

// quickReply reads {"id":"...","code":N,"message":"..."[,"result":...]}.
func quickReply(p []byte) (Reply, bool) {
	var r Reply
	rest, ok := bytes.CutPrefix(p, []byte(`{"id":`))
	if !ok {
		return r, false
	}
	if r.ID, rest, ok = plainString(rest); !ok {
		return r, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"code":`)); !ok {
		return r, false
	}
	n := 0
	for n < len(rest) && n < 9 && '0' <= rest[n] && rest[n] <= '9' {
		n++
	}
	if n == 0 || n > 1 && rest[0] == '0' {
		return r, false
	}
	r.Code, _ = strconv.Atoi(string(rest[:n]))
	if rest, ok = bytes.CutPrefix(rest[n:], []byte(`,"message":`)); !ok {
		return r, false
	}
	if r.Message, rest, ok = plainString(rest); !ok {
		return r, false
	}
	if string(rest) == "}" {
		return r, true
	}
	res, ok := bytes.CutPrefix(rest, []byte(`,"result":`))
	if !ok || len(res) < 2 || res[len(res)-1] != '}' || !json.Valid(res[:len(res)-1]) {
		return r, false
	}
	r.Result = bytes.Clone(res[:len(res)-1])
	return r, true
}

// plainString reads a JSON string without escapes at the start of p.
func plainString(p []byte) (string, []byte, bool) {
	if len(p) == 0 || p[0] != '"' {
		return "", nil, false
	}
	end := bytes.IndexByte(p[1:], '"')
	if end < 0 {
		return "", nil, false
	}
	s := p[1 : 1+end]
	for _, c := range s {
		if c == '\\' || c < 0x20 {
			return "", nil, false
		}
	}
	if !utf8.Valid(s) {
		return "", nil, false
	}
	return string(s), p[2+end:], true
}

// inviteIDOf reads the invite ID of an invite's result.
func inviteIDOf(result []byte) (string, bool) {
	if rest, ok := bytes.CutPrefix(result, []byte(`{"inviteID":`)); ok {
		if id, rest, ok := plainString(rest); ok && string(rest) == "}" && id != "" {
			return id, true
		}
	}
	var res struct {
		InviteID string `json:"inviteID"`
	}
	if json.Unmarshal(result, &res) != nil || res.InviteID == "" {
		return "", false
	}
	return res.InviteID, true
}

// Answer calls op (accept, reject, cancel or modify) on inviteID; a reply
// with a non-zero code is an error.
func Answer(c Caller, op, inviteID, data string) error {
	r, err := c.Call(op, answerArgs{InviteID: inviteID, Data: data}, "")
	if err == nil && r.Code != 0 {
		err = fmt.Errorf("mqttload: %s: %s: code %d: %s", c.ClientID(), op, r.Code, r.Message)
	}
	return err
}
