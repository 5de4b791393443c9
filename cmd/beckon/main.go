// Command beckon serves devices over MQTT (docs/protocol.md), prints their
// tokens, and runs beckon's demo: a few calls played in real time between
// in-process devices, printing every callback each device gets.
//
// Usage:
//
//	beckon serve [-mqtt :1883] [-http :8080] [-data ./beckon-data] [-store bolt|memory] [flags]
//	beckon token -user alice [-ttl 24h] [-data ./beckon-data]
//	beckon demo [-store path.db]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "beckon:", err)
		os.Exit(1)
	}
}

// errUsage reports a command line that names no known command.
var errUsage = errors.New("usage")

const usage = `usage: beckon demo [-store path.db]
       beckon serve [flags]
       beckon token -user ID [-ttl 24h] [-data DIR]

commands:
  serve  serve devices over MQTT (TCP :1883, websocket :8080/mqtt) until SIGINT or
         SIGTERM; "beckon serve -h" lists the flags
  token  print a token for a user, signed with the secret of the data directory
  demo   play a 1:1 call accepted, a 1:1 call cancelled, a group call where one
         accepts, one rejects and one times out, a modify, and a user with two
         devices (then a third), printing each device's callbacks

`

// run runs the command line args, writing the demo to out and problems
// with the command line to errOut.
func run(args []string, out, errOut io.Writer) error {
	if len(args) > 0 && args[0] == "serve" {
		return runServe(args[1:], errOut)
	}
	if len(args) > 0 && args[0] == "token" {
		return runToken(args[1:], out, errOut)
	}
	if len(args) == 0 || args[0] != "demo" {
		fmt.Fprint(errOut, usage)
		return errUsage
	}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(errOut)
	storePath := fs.String("store", "", "keep the log and history in this file (durable store); empty: in memory")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(errOut, "demo takes no arguments, got %q\n%s", fs.Args(), usage)
		return errUsage
	}
	store, err := openStore(*storePath)
	if err != nil {
		return err
	}
	defer store.Close()
	return demo(out, store, *storePath, thinkTime)
}
