package beckon

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"
	"slices"

	"github.com/beckonhq/beckon/kernel"
)

// Listener receives the six signaling callbacks of one session (the SDK's
// TIMSetSignaling...Callback functions, set all at once at Login).
//
// The calls of one session come one at a time, in the order the events
// happened (DLV-2), from a goroutine that is never the caller's; they never
// block the runtime, whose events for the session wait in an unbounded
// queue while a callback runs. So a callback may take its time, or call the
// Client (also Close), but a callback that never returns makes its queue
// grow forever. With the default delivery (adapters/memory.Hub) the
// sessions share a few goroutines: a callback that waits, for the Client's
// answer say, delays other sessions' callbacks by up to about two
// milliseconds (memory.StallAfter), until the hub adds a goroutine. Lists
// passed to a callback are the callback's own.
//
// A callback that panics does not take the process down: the runtime
// recovers the panic, logs it (user, session, event, stack) at Error level
// with its logger, and the session goes on receiving its next events;
// nothing else is affected.
//
// Close does not wait for queued callbacks (so a callback may call it): a
// Listener shared by a closed login and a new login of the same session may
// see the old login's last calls overlap the new one's first. Neither does
// Runtime.Close: callbacks of events handed over before it may still run
// after it returns.
//
// Login needs a Listener: to ignore every event, pass ListenerFuncs{}.
type Listener interface {
	// OnReceiveNewInvitation: an invitation that names this user as an
	// invitee (INV-5), or one still pending for them when the session
	// logged in (SYN-1). groupID is empty for a 1:1 invitation.
	OnReceiveNewInvitation(inviteID, inviter, groupID string, inviteeList []string, data string)
	// OnInvitationCancelled: the inviter cancelled (CAN-3).
	OnInvitationCancelled(inviteID, inviter, data string)
	// OnInviteeAccepted: invitee accepted (ACC-3).
	OnInviteeAccepted(inviteID, invitee, data string)
	// OnInviteeRejected: invitee rejected (REJ-3).
	OnInviteeRejected(inviteID, invitee, data string)
	// OnInvitationTimeout: the invitees in inviteeList timed out (TMO-2):
	// all of them for the inviter, only this user for an invitee.
	OnInvitationTimeout(inviteID string, inviteeList []string)
	// OnInvitationModified: a participant replaced the data (MOD-3).
	OnInvitationModified(inviteID, data string)
}

// ListenerFuncs is a Listener made of optional functions, one per callback,
// like the SDK's separate setters; a nil function ignores its callback.
type ListenerFuncs struct {
	ReceiveNewInvitation func(inviteID, inviter, groupID string, inviteeList []string, data string)
	InvitationCancelled  func(inviteID, inviter, data string)
	InviteeAccepted      func(inviteID, invitee, data string)
	InviteeRejected      func(inviteID, invitee, data string)
	InvitationTimeout    func(inviteID string, inviteeList []string)
	InvitationModified   func(inviteID, data string)
}

// OnReceiveNewInvitation calls f.ReceiveNewInvitation if set.
func (f ListenerFuncs) OnReceiveNewInvitation(inviteID, inviter, groupID string, inviteeList []string, data string) {
	if f.ReceiveNewInvitation != nil {
		f.ReceiveNewInvitation(inviteID, inviter, groupID, inviteeList, data)
	}
}

// OnInvitationCancelled calls f.InvitationCancelled if set.
func (f ListenerFuncs) OnInvitationCancelled(inviteID, inviter, data string) {
	if f.InvitationCancelled != nil {
		f.InvitationCancelled(inviteID, inviter, data)
	}
}

// OnInviteeAccepted calls f.InviteeAccepted if set.
func (f ListenerFuncs) OnInviteeAccepted(inviteID, invitee, data string) {
	if f.InviteeAccepted != nil {
		f.InviteeAccepted(inviteID, invitee, data)
	}
}

// OnInviteeRejected calls f.InviteeRejected if set.
func (f ListenerFuncs) OnInviteeRejected(inviteID, invitee, data string) {
	if f.InviteeRejected != nil {
		f.InviteeRejected(inviteID, invitee, data)
	}
}

// OnInvitationTimeout calls f.InvitationTimeout if set.
func (f ListenerFuncs) OnInvitationTimeout(inviteID string, inviteeList []string) {
	if f.InvitationTimeout != nil {
		f.InvitationTimeout(inviteID, inviteeList)
	}
}

// OnInvitationModified calls f.InvitationModified if set.
func (f ListenerFuncs) OnInvitationModified(inviteID, data string) {
	if f.InvitationModified != nil {
		f.InvitationModified(inviteID, data)
	}
}

// EventFunc is a Listener that receives every callback as one Event (its
// Type tells which; see Event for the fields each sets).
type EventFunc func(ev Event)

// OnReceiveNewInvitation calls f with an EventNewInvitation.
func (f EventFunc) OnReceiveNewInvitation(inviteID, inviter, groupID string, inviteeList []string, data string) {
	f(Event{Type: EventNewInvitation, InviteID: inviteID, Inviter: inviter, GroupID: groupID, Invitees: inviteeList, Data: data})
}

// OnInvitationCancelled calls f with an EventCancelled.
func (f EventFunc) OnInvitationCancelled(inviteID, inviter, data string) {
	f(Event{Type: EventCancelled, InviteID: inviteID, Inviter: inviter, Data: data})
}

// OnInviteeAccepted calls f with an EventAccepted.
func (f EventFunc) OnInviteeAccepted(inviteID, invitee, data string) {
	f(Event{Type: EventAccepted, InviteID: inviteID, Invitee: invitee, Data: data})
}

// OnInviteeRejected calls f with an EventRejected.
func (f EventFunc) OnInviteeRejected(inviteID, invitee, data string) {
	f(Event{Type: EventRejected, InviteID: inviteID, Invitee: invitee, Data: data})
}

// OnInvitationTimeout calls f with an EventTimeout.
func (f EventFunc) OnInvitationTimeout(inviteID string, inviteeList []string) {
	f(Event{Type: EventTimeout, InviteID: inviteID, Invitees: inviteeList})
}

// OnInvitationModified calls f with an EventModified.
func (f EventFunc) OnInvitationModified(inviteID, data string) {
	f(Event{Type: EventModified, InviteID: inviteID, Data: data})
}

// checkListener returns the 6017 error of a Listener that cannot be called:
// nil, a nil EventFunc, or a nil pointer (or map, ...) in the interface.
func checkListener(l Listener) error {
	nilValue := l == nil
	if !nilValue {
		switch v := reflect.ValueOf(l); v.Kind() {
		case reflect.Pointer, reflect.Func, reflect.Map, reflect.Slice, reflect.Chan, reflect.Interface:
			nilValue = v.IsNil()
		}
	}
	if !nilValue {
		return nil
	}
	return &kernel.OpError{Class: kernel.ErrInvalidParameters, Field: "listener", Value: fmt.Sprintf("%T(nil)", l),
		Msg: "Login needs a Listener that can be called; to ignore every event pass beckon.ListenerFuncs{}"}
}

// ListenerHandler returns the function that hands one session's events to
// l, as Login does: it calls l's method of the event with its own copy of
// the lists, and recovers a panic of l, logging it with logger (see
// Listener). A Listener that cannot be called fails with 6017. It is for a
// client of another process (package remote), whose events come from the
// network, so that its Listener behaves as Login's; the caller calls the
// function one event at a time, in order, never on its own API's caller's
// goroutine.
func ListenerHandler(l Listener, logger *slog.Logger, user, session string) (func(Event), error) {
	if err := checkListener(l); err != nil {
		return nil, err
	}
	return func(ev Event) {
		defer func() {
			if v := recover(); v != nil {
				logger.LogAttrs(context.Background(), slog.LevelError, "beckon: a Listener callback panicked; the session goes on with its next event",
					slog.String("user", user), slog.String("session", session),
					slog.String("event", ev.Type.String()), slog.String("inviteID", ev.InviteID),
					slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			}
		}()
		dispatch(l, ev)
	}, nil
}

// dispatch calls the listener method of ev, with its own copy of the list.
func dispatch(l Listener, ev Event) {
	switch ev.Type {
	case EventNewInvitation:
		l.OnReceiveNewInvitation(ev.InviteID, ev.Inviter, ev.GroupID, slices.Clone(ev.Invitees), ev.Data)
	case EventCancelled:
		l.OnInvitationCancelled(ev.InviteID, ev.Inviter, ev.Data)
	case EventAccepted:
		l.OnInviteeAccepted(ev.InviteID, ev.Invitee, ev.Data)
	case EventRejected:
		l.OnInviteeRejected(ev.InviteID, ev.Invitee, ev.Data)
	case EventTimeout:
		l.OnInvitationTimeout(ev.InviteID, slices.Clone(ev.Invitees))
	case EventModified:
		l.OnInvitationModified(ev.InviteID, ev.Data)
	}
}
