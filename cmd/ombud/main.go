// Command ombud is the ombud custody gateway: it serves the API and the
// transparency log, and talks to a running deployment.
//
// Exit codes (docs/CLI.md): 0 success; 1 error; 2 usage error; 3 a check
// failed (a receipt does not verify, an audit found violations, a policy
// does not parse); 4 the log's directory is not writable (serve, init).
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
	"slices"
	"strings"
	"sync"
	"syscall"

	"k8s.io/klog/v2"

	// The cloud object stores and key management services (none in a
	// build with -tags ombud_nocloud).
	_ "github.com/ombud/ombud/internal/cloud"
	"github.com/ombud/ombud/tlog"
)

// Exit codes, one scheme for every command (docs/CLI.md; TestExitCodes
// checks the table there against these).
const (
	exitOK    = 0
	exitError = 1 // the server refused or is unreachable, a file could not be read, an audit could not complete …
	exitUsage = 2 // a missing or unknown command, flag or argument
	exitCheck = 3 // a check failed: a receipt does not verify, an audit found violations, a policy does not parse
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
	// check, when set, makes Run stop after parsing and checking the
	// command line: the help test runs every example this way.
	check bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	m := &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	code := m.Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// A command is one thing ombud does: ombud NAME [ARGUMENTS] [FLAGS]. The
// dispatcher parses its flags and checks its arguments and required
// flags; then it calls what setup returned: flags plus one call.
type command struct {
	name    string // "principal add"
	summary string
	usage   string // what follows "ombud NAME" in the synopsis
	example string // a working example: TestHelp runs it through the parser
	args    [2]int // the fewest and the most positional arguments (-1: any)
	need    []string
	setup   func(m *Main, fs *flag.FlagSet) action
}

// action is a command's one call, with its positional arguments.
type action func(ctx context.Context, args []string) error

// groups name the first words that gather several commands.
var groups = map[string]string{
	"principal": "add, list or disable principals, and restore emergency access",
	"hold":      "set or release a legal hold on an object",
	"keys":      "rotate the key-encryption key",
	"issuer":    "register an authority that signs authorizations",
	"authz":     "make, sign, register and revoke legal authorizations",
	"policy":    "check or reload the Cedar access policy",
	"report":    "publish transparency reports",
	"witness":   "run a C2SP tlog-witness that cosigns consistent checkpoints",
	"bench":     "run the benchmark harness and print JSON",
	"system":    "keep the public registry of analytic systems",
	"recipient": "keep the registry of the bodies exports may go to",
	"run":       "start, fetch and close analytic runs that read objects in bulk under authority",
	"flag":      "raise flags (a system's matches) for human review, and list those awaiting yours",
	"contest":   "list and resolve the contests of actions taken on flags",
}

func commands() []command {
	return slices.Concat(serverCommands(), objectCommands(), principalCommands(), authorityCommands(), systemCommands(), contractCommands(), recipientCommands(), tipCommands(), quorumCommands(), exportCommands(), runCommands(), reviewCommands(), logCommands(), benchCommands())
}

// synopsis is the command's usage line.
func (c command) synopsis() string {
	if c.usage == "" {
		return "ombud " + c.name
	}
	return "ombud " + c.name + " " + c.usage
}

func (m *Main) usage() {
	fmt.Fprintf(m.Stderr, "ombud: verifiable custody for sensitive data\n\nUsage:\n  ombud COMMAND [ARGUMENTS] [FLAGS]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(m.Stderr, "  %-26s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(m.Stderr, "\nExample:\n  ombud serve --data ./ombud-data\n\nRun 'ombud COMMAND --help' for its synopsis, flags and an example.\n")
}

// groupUsage lists a group's commands.
func (m *Main) groupUsage(group string) {
	fmt.Fprintf(m.Stderr, "Usage: ombud %s COMMAND [ARGUMENTS] [FLAGS]\n\n%s.\n\nCommands:\n", group, upper(groups[group]))
	example := ""
	for _, c := range commands() {
		if strings.HasPrefix(c.name, group+" ") {
			fmt.Fprintf(m.Stderr, "  %s\n      %s\n", c.synopsis(), c.summary)
			if example == "" {
				example = c.example
			}
		}
	}
	fmt.Fprintf(m.Stderr, "\nExample:\n  %s\n\nRun 'ombud %s COMMAND --help' for its flags and an example.\n", example, group)
}

// find returns the command args name, and the arguments after its name:
// the longest name that matches, so that "export open" is not "export".
func find(args []string) (command, []string, bool) {
	var best command
	n := 0
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(words) > n && len(args) >= len(words) && slices.Equal(args[:len(words)], words) {
			best, n = c, len(words)
		}
	}
	return best, args[min(n, len(args)):], n > 0
}

// usageError marks an error as a usage error (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// checkFailed marks a check that failed (exit 3): a receipt that does not
// verify, an audit with findings, a policy that does not parse.
type checkFailed struct{ err error }

func (e checkFailed) Error() string { return e.err.Error() }
func (e checkFailed) Unwrap() error { return e.err }

// exitCode carries an exit code of its own (exitLogUnwritable).
type exitCode struct {
	code int
	err  error
}

func (e exitCode) Error() string { return e.err.Error() }
func (e exitCode) Unwrap() error { return e.err }

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
	return m.exit(m.dispatch(ctx, args))
}

// exit prints err as one line and returns its exit code.
func (m *Main) exit(err error) int {
	var ue usageError
	var cf checkFailed
	var ec exitCode
	code := exitError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ec):
		code = ec.code
	case errors.As(err, &ue):
		code = exitUsage
	case errors.As(err, &cf):
		code = exitCheck
	}
	fmt.Fprintf(m.Stderr, "ombud: %s\n", oneLine(err.Error()))
	return code
}

// dispatch finds the command, parses its flags, checks its arguments and
// runs it; with m.check set it stops before running.
func (m *Main) dispatch(ctx context.Context, args []string) error {
	c, rest, ok := find(args)
	if !ok {
		if _, isGroup := groups[args[0]]; isGroup {
			if len(args) > 1 && (args[1] == "-h" || args[1] == "--help") {
				m.groupUsage(args[0])
				return nil
			}
			var subs []string
			for _, c := range commands() {
				if sub, ok := strings.CutPrefix(c.name, args[0]+" "); ok {
					subs = append(subs, sub)
				}
			}
			if len(args) == 1 {
				return usagef("%s: missing command (%s); run 'ombud %s --help'", args[0], strings.Join(subs, ", "), args[0])
			}
			return usagef("%s: unknown command %q (%s)", args[0], args[1], strings.Join(subs, ", "))
		}
		return usagef("unknown command %q; run 'ombud --help'", args[0])
	}
	fs := m.flags(c)
	do := c.setup(m, fs)
	if err := parse(fs, rest); errors.Is(err, flag.ErrHelp) {
		m.help(c, fs)
		return nil
	} else if err != nil {
		return usagef("%s: %v; run 'ombud %s --help'", c.name, err, c.name)
	}
	if n := fs.NArg(); n < c.args[0] || (c.args[1] >= 0 && n > c.args[1]) {
		return usagef("%s: wrong number of arguments; usage: %s", c.name, c.synopsis())
	}
	for _, name := range c.need {
		if f := fs.Lookup(name); f == nil || f.Value.String() == "" {
			return usagef("%s: --%s is required; usage: %s", c.name, name, c.synopsis())
		}
	}
	if m.check {
		return nil
	}
	return do(ctx, fs.Args())
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// flags makes the flag set of c. It prints nothing itself: --help is
// answered by help, and a parse error is one line, a usage error.
func (m *Main) flags(c command) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// help prints c's synopsis, summary, example and flags.
func (m *Main) help(c command, fs *flag.FlagSet) {
	fmt.Fprintf(m.Stderr, "Usage: %s\n\n%s.\n\nExample:\n  %s\n\nFlags:\n", c.synopsis(), upper(c.summary), strings.ReplaceAll(c.example, "\n", "\n  "))
	fs.SetOutput(m.Stderr)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
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
	// Tessera logs through klog; route it into the same structured log,
	// without the line it writes at a new log's first checkpoint (see
	// tlog.TesseraHandler). The setting is process-wide and racy to
	// change, so the first one stays.
	klogOnce.Do(func() { klog.SetSlogLogger(slog.New(tlog.TesseraHandler(lg.Handler()))) })
	return lg, nil
}
