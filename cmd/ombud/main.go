// Command ombud is the ombud custody gateway: it serves the API and the
// transparency log, and talks to a running deployment.
//
// Exit codes: 0 success; 1 error; 2 usage error; 3 verification failed;
// 4 the log's directory is not writable (serve, init).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"k8s.io/klog/v2"
)

// Exit codes (documented in docs/CLI.md).
const (
	exitOK     = 0
	exitError  = 1
	exitUsage  = 2
	exitVerify = 3
	// exitLogUnwritable: serve or init found the log's directory not
	// writable and did not start.
	exitLogUnwritable = 4
)

// Main is the whole program, wired once; tests run it end to end.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Ready, if set, receives the address serve listens on.
	Ready func(addr string)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	m := &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	code := m.Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

type command struct {
	name    string
	summary string
	run     func(m *Main, ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"init", "create a data directory and print the admin token", (*Main).initCmd},
		{"serve", "run the API and the transparency log", (*Main).serveCmd},
		{"principal", "add, list or disable principals on a running server", (*Main).principalCmd},
		{"put", "store an object: encrypted under a fresh key, logged", (*Main).putCmd},
		{"get", "read an object for a stated purpose (the decision is logged first)", (*Main).getCmd},
		{"hold", "set or release a legal hold on an object", (*Main).holdCmd},
		{"erase", "crypto-shred an object on demand", (*Main).eraseCmd},
		{"sweep", "run the retention sweep now", (*Main).sweepCmd},
		{"attest", "record that the data derived from an uncovered emergency read was deleted", (*Main).attestCmd},
		{"keys", "rotate the key-encryption key (rewraps every keyset)", (*Main).keysCmd},
		{"issuer", "register an authority that signs authorizations", (*Main).issuerCmd},
		{"authz", "make, sign, register and revoke legal authorizations", (*Main).authzCmd},
		{"policy", "check or reload the Cedar access policy", (*Main).policyCmd},
		{"receipt", "fetch the receipt of a log entry from a running server", (*Main).receiptCmd},
		{"verify-receipt", "check a receipt offline against the log's verifier key", (*Main).verifyReceiptCmd},
		{"report", "publish a transparency report, signed and logged", (*Main).reportCmd},
		{"audit", "audit a log: checkpoint, witnesses, consistency, every entry and tile, the invariants", (*Main).auditCmd},
		{"witness", "run a C2SP tlog-witness that cosigns consistent checkpoints", (*Main).witnessCmd},
		{"bench", "run the benchmark harness and print JSON", (*Main).benchCmd},
	}
}

func (m *Main) usage() {
	fmt.Fprintf(m.Stderr, "ombud: verifiable custody for sensitive data\n\nUsage:\n  ombud COMMAND [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(m.Stderr, "  %-15s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(m.Stderr, "\nRun 'ombud COMMAND --help' for a command's flags and an example.\n")
}

// usageError marks an error as a usage error (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// verifyError marks a failed verification (exit 3).
type verifyError struct{ err error }

func (e verifyError) Error() string { return e.err.Error() }
func (e verifyError) Unwrap() error { return e.err }

var klogOnce sync.Once

// Run executes one command and returns the exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if m.Getenv == nil {
		m.Getenv = os.Getenv
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		m.usage()
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(m, ctx, args[1:])
		var ue usageError
		var ve verifyError
		var ec exitCode
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.As(err, &ec):
			fmt.Fprintf(m.Stderr, "ombud: %s\n", oneLine(err.Error()))
			return ec.code
		case errors.As(err, &ue):
			fmt.Fprintf(m.Stderr, "ombud: %s\n", oneLine(err.Error()))
			return exitUsage
		case errors.As(err, &ve):
			fmt.Fprintf(m.Stderr, "ombud: %s\n", oneLine(err.Error()))
			return exitVerify
		default:
			fmt.Fprintf(m.Stderr, "ombud: %s\n", oneLine(err.Error()))
			return exitError
		}
	}
	fmt.Fprintf(m.Stderr, "ombud: unknown command %q; run 'ombud --help'\n", args[0])
	return exitUsage
}

// subcommand handles a command with a single subcommand: with --help it
// prints usage, and anything but sub is a usage error. done reports that
// the command has nothing more to do (err says how it ended).
func (m *Main) subcommand(args []string, cmd, sub, usage string) (done bool, err error) {
	switch {
	case len(args) > 0 && args[0] == sub:
		return false, nil
	case len(args) > 0 && (args[0] == "-h" || args[0] == "--help"):
		fmt.Fprint(m.Stderr, usage)
		return true, nil
	}
	return true, usagef("%s: the only subcommand is %s", cmd, sub)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// flags makes a flag set whose --help prints a synopsis, an example and the
// flags, and whose parse errors are usage errors.
func (m *Main) flags(name, synopsis, example string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "Usage: ombud %s\n\n", synopsis)
		fmt.Fprintf(m.Stderr, "Example:\n  %s\n\nFlags:\n", strings.ReplaceAll(example, "\n", "\n  "))
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	// Allow flags after positional arguments: ombud verify-receipt FILE --key K.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}

func (m *Main) logger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	lg := slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: l}))
	// Tessera logs through klog; route it into the same structured log. The
	// setting is process-wide and racy to change, so the first one stays.
	klogOnce.Do(func() { klog.SetSlogLogger(lg) })
	return lg, nil
}
