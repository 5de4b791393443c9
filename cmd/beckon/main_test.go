package main

import (
	"bytes"
	"errors"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beckonhq/beckon/adapters/memory"
)

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := demo(&out, memory.NewStore(), "", 10*time.Millisecond); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	// Compare with runs of spaces folded, line by line.
	var lines []string
	for _, l := range strings.Split(out.String(), "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	text := strings.Join(lines, "\n")
	for _, want := range []string{
		// 1. accepted, heard on both of alice's devices (DLV-1)
		`bob/phone << ReceiveNewInvitation call-1 inviter=alice invitees=[bob] data="video call"`,
		`alice/phone << InviteeAccepted call-1 invitee=bob data="on my way"`,
		`alice/laptop << InviteeAccepted call-1 invitee=bob data="on my way"`,
		`bob/phone << InviteeAccepted call-1 invitee=bob data="on my way"`,
		`error 8010: `,
		// 2. cancelled
		`carol/phone << InvitationCancelled call-2 inviter=bob data="wrong number"`,
		`bob/phone << InvitationCancelled call-2 inviter=bob data="wrong number"`,
		// 3. group: accept, reject, timeout
		`dave/phone << ReceiveNewInvitation call-3 inviter=alice group=team invitees=[bob carol dave] data="standup"`,
		`dave/phone << InviteeAccepted call-3 invitee=bob data="joining"`,
		`alice/laptop << InviteeRejected call-3 invitee=carol data="in a meeting"`,
		`alice/phone << InvitationTimeout call-3 invitees=[dave]`,
		`dave/phone << InvitationTimeout call-3 invitees=[dave]`,
		`history of team: invite by alice, accept by bob, reject by carol, timeout by alice`,
		// 4. modify
		`dave/phone << InvitationModified call-4 data="screen share at 3pm"`,
		`carol/phone << InviteeAccepted call-4 invitee=dave data="see you"`,
		// 5. a third device logging in rings (SYN-1), and stops with the others
		`alice/tablet << ReceiveNewInvitation call-5 inviter=dave invitees=[alice] data="quick question"`,
		`alice/tablet << InviteeRejected call-5 invitee=alice data="busy"`,
		`alice/phone << InviteeRejected call-5 invitee=alice data="busy"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo did not print %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out.String())
	}
	if strings.Contains(text, "alice/tablet << ReceiveNewInvitation call-1") {
		t.Error("a device logging in was rung for a closed invitation")
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"demo", "extra"}} {
		var out, errOut bytes.Buffer
		if err := run(args, &out, &errOut); !errors.Is(err, errUsage) {
			t.Errorf("run %q: %v, want the usage error", args, err)
		}
		if !strings.Contains(errOut.String(), "usage: beckon demo") {
			t.Errorf("run %q printed %q", args, errOut.String())
		}
	}
}

// The command is a program using the runtime: the root package gives it
// every name it needs, so it does not import the kernel.
func TestNoKernelImport(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("listing the package's files: %v %v", files, err)
	}
	for _, name := range files {
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if strings.HasSuffix(imp.Path.Value, `/kernel"`) {
				t.Errorf("%s: got an import of %s, want none: use the root package's names", name, imp.Path.Value)
			}
		}
	}
}
