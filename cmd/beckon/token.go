package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/beckonhq/beckon/adapters/mqtt"
)

// secretFile is the server's token secret, in its data directory.
const secretFile = "token-secret"

// loadSecret returns the secret kept in dir, creating dir and a new random
// secret (mode 0600) if there is none.
func loadSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, secretFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if len(b) < 32 {
			return nil, fmt.Errorf("%s: %d bytes, want at least 32: delete it to have a new one made (tokens made with it stop working)", path, len(b))
		}
		return b, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // made meanwhile by another beckon
		return loadSecret(dir)
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	return b, f.Close()
}

// runToken prints a token for -user, valid for -ttl, from the secret of
// the data directory.
func runToken(args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(errOut)
	user := fs.String("user", "", "the user ID the token is for (required)")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid")
	data := fs.String("data", defaultDataDir, "the server's data directory (holds the secret)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *user == "" || fs.NArg() > 0 {
		fmt.Fprintf(errOut, "token needs -user and takes no arguments\n%s", usage)
		return errUsage
	}
	secret, err := loadSecret(*data)
	if err != nil {
		return err
	}
	tok, err := mqtt.IssueToken(secret, *user, *ttl, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(out, tok)
	return nil
}
