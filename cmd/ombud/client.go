package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ombud/ombud/client"
)

// connect adds --server (env OMBUD_SERVER) and --token-file (default: env
// OMBUD_TOKEN) to fs, as vault and kubectl do; tokens are never flags,
// because a command line is visible to the machine's other users. The
// returned func, called after parsing, makes the client.
func (m *Main) connect(fs *flag.FlagSet, needToken bool) func() (*client.Client, error) {
	def := m.Getenv("OMBUD_SERVER")
	if def == "" {
		def = "http://127.0.0.1:8080"
	}
	server := fs.String("server", def, "server URL (env OMBUD_SERVER)")
	tokenFile := fs.String("token-file", "", "file holding the API token (default: env OMBUD_TOKEN)")
	return func() (*client.Client, error) {
		token := strings.TrimSpace(m.Getenv("OMBUD_TOKEN"))
		if *tokenFile != "" {
			b, err := readLimited(*tokenFile, 4096)
			if err != nil {
				return nil, fmt.Errorf("failed to read the token file: %w", err)
			}
			token = strings.TrimSpace(string(b))
		}
		if needToken && token == "" {
			return nil, usagef("no API token: set OMBUD_TOKEN or pass --token-file FILE")
		}
		c, err := client.New(*server, token)
		if err != nil {
			return nil, usagef("--server: %v", err)
		}
		return c, nil
	}
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// listFlag collects a repeatable flag that also takes comma-separated
// values: --role analyst,reviewer.
type listFlag []string

func (r *listFlag) String() string     { return strings.Join(*r, ",") }
func (r *listFlag) Set(v string) error { *r = append(*r, strings.Split(v, ",")...); return nil }

func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func readLimited(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, n))
}

// remote makes the action of a command that talks to a deployment with a
// token: it adds --server and --token-file, and calls do with the client.
func (m *Main) remote(fs *flag.FlagSet, do func(ctx context.Context, c *client.Client, args []string) error) action {
	connect := m.connect(fs, true)
	return func(ctx context.Context, args []string) error {
		c, err := connect()
		if err != nil {
			return err
		}
		return do(ctx, c, args)
	}
}

// done prints what a call did, unless it failed. The client's answers are
// never nil pointers, so a caller may name their fields before err is
// looked at.
func (m *Main) done(err error, format string, a ...any) error {
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(m.Stdout, format, a...)
	return err
}
