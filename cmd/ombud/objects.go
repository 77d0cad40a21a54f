package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/client"
)

func objectCommands() []command {
	order := func(name, summary, example, reasons, done string, call func(*client.Client, context.Context, string, apiv1.Order) (*apiv1.OrderDone, error)) command {
		return command{
			name: name, summary: summary, example: example,
			usage: "ID --reason REASON --authorization REF",
			args:  [2]int{1, 1},
			need:  []string{"reason", "authorization"},
			setup: func(m *Main, fs *flag.FlagSet) action {
				reason := fs.String("reason", "", reasons)
				auth := fs.String("authorization", "", "the order or authorization behind it, such as a court file number")
				return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
					out, err := call(c, ctx, args[0], apiv1.Order{Reason: *reason, Authorization: *auth})
					if err != nil {
						return err
					}
					fmt.Fprintf(m.Stdout, done+" (log entry %d).\n", args[0], out.Receipt)
					return nil
				})
			},
		}
	}
	return []command{{name: "put", usage: "FILE --class CLASS [--subject ID …] [--source S] [--collected-at T] [--region R]", args: [2]int{1, 1}, need: []string{"class"},
		summary: "store an object: encrypted under a fresh key, logged",
		example: "ombud put plate-scan.jpg --class location --subject plate:B-XY-123 --source alpr-7",
		setup: func(m *Main, fs *flag.FlagSet) action {
			var p client.Put
			fs.StringVar(&p.Class, "class", "", "data class (see [[class]] in ombud.toml)")
			var subjects multiFlag
			fs.Var(&subjects, "subject", "identifier of a person the object is about (repeatable; stored only as a keyed pseudonym)")
			fs.StringVar(&p.Source, "source", "", "the system that collected it")
			fs.StringVar(&p.CollectedAt, "collected-at", "", "collection time, RFC 3339 (default: now)")
			fs.StringVar(&p.Region, "region", "", "residency region, if the class requires one")
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				var body io.Reader = m.Stdin
				p.Size, p.Subjects = -1, subjects
				if args[0] != "-" {
					f, err := os.Open(args[0])
					if err != nil {
						return err
					}
					defer f.Close()
					if fi, err := f.Stat(); err == nil {
						p.Size = fi.Size()
					}
					body = f
				}
				o, err := c.PutObject(ctx, body, p)
				if err != nil {
					return err
				}
				fmt.Fprintf(m.Stdout, "Stored object %s (%s, %d bytes, kept until %s; log entry %d)\n", o.ID, o.Class, o.Size, o.RetainUntil.Format(time.RFC3339), *o.Receipt)
				fmt.Fprintln(m.Stdout, o.ID)
				return nil
			})
		},
	}, {name: "get", usage: "ID --purpose PURPOSE [--authorization ID] [--flag FLAG] [--out FILE]", args: [2]int{1, 1}, need: []string{"purpose"},
		summary: "read an object for a stated purpose (the decision is logged first)",
		example: "ombud get k3x9q2m7a1b4c5d6 --purpose criminal_investigation --authorization auth-2026-0042 --out scan.jpg",
		setup: func(m *Main, fs *flag.FlagSet) action {
			var r client.Read
			fs.StringVar(&r.Purpose, "purpose", "", "why you read it: a purpose code, logged with the decision")
			fs.StringVar(&r.Authorization, "authorization", "", "the registered authorization this read relies on (required for sensitive classes)")
			fs.StringVar(&r.Justification, "justification", "", "free text, kept only in the private detail record")
			fs.StringVar(&r.Emergency, "emergency", "", "emergency reason code, where policy allows reads before an authorization")
			fs.StringVar(&r.Flag, "flag", "", "with --purpose review: view the object as evidence of this flag (a reviewer's viewing, logged)")
			out := fs.String("out", "", "write to FILE instead of stdout (removed again if the read fails)")
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				// The output file is made before the read is asked for: a
				// read is a logged decision that may spend an authorization
				// use, and must not be spent on a file that cannot be
				// written.
				var w io.Writer = m.Stdout
				var f *os.File
				var err error
				if *out != "" {
					if f, err = os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
						return fmt.Errorf("--out: %w; nothing was read", err)
					}
					w = f
				}
				fail := func(err error) error {
					if f != nil {
						f.Close()
						os.Remove(*out)
					}
					return err
				}
				o, err := c.GetObject(ctx, args[0], r)
				if err != nil {
					return fail(err)
				}
				defer o.Close()
				n, err := io.Copy(w, o)
				if err == nil && o.Size >= 0 && n != o.Size {
					err = fmt.Errorf("received %d of %d bytes", n, o.Size)
				}
				if f != nil {
					if cerr := f.Close(); err == nil {
						err = cerr
					}
				}
				if err != nil {
					if f != nil {
						os.Remove(*out)
					}
					return fmt.Errorf("read of %s failed, do not trust any partial output: %w", args[0], err)
				}
				fmt.Fprintf(m.Stderr, "ombud: read %d bytes; decision logged as entry %s\n", n, o.Receipt)
				return nil
			})
		},
	},
		order("hold set", "put a legal hold on an object: it is never erased while held",
			"ombud hold set k3x9q2m7a1b4c5d6 --reason litigation --authorization 'order 3 Gs 117/26'",
			"hold reason code, such as litigation", "Hold set on %s", (*client.Client).SetHold),
		order("hold release", "lift a legal hold",
			"ombud hold release k3x9q2m7a1b4c5d6 --reason case_closed --authorization 'order 3 Gs 117/26'",
			"hold reason code, such as case_closed", "Hold released on %s", (*client.Client).ReleaseHold),
		order("erase", "crypto-shred an object on demand",
			"ombud erase k3x9q2m7a1b4c5d6 --reason court_order --authorization 'order 3 Gs 117/26'",
			"court_order, authorization_refused or controller_order", "Erased %s: keyset destroyed, ciphertext deleted", (*client.Client).Erase),
		{name: "sweep",
			summary: "run the retention sweep now",
			example: "ombud sweep --server http://127.0.0.1:8080",
			setup: func(m *Main, fs *flag.FlagSet) action {
				return m.remote(fs, func(ctx context.Context, c *client.Client, _ []string) error {
					out, err := c.Sweep(ctx)
					if err != nil {
						return err
					}
					details := 0
					for _, n := range out.Details {
						details += n
					}
					fmt.Fprintf(m.Stdout, "Sweep: %d expired objects shredded, %d emergency breaches logged, %d interrupted changes settled, %d detail records past their retention erased.\n",
						out.Erased, out.Breaches, out.Settled.Committed+out.Settled.Undone, details)
					return nil
				})
			},
		}, {name: "keys rotate",
			summary: "rotate the key-encryption key (rewraps the intermediate keys, and the keysets of objects stored before them)",
			example: "ombud keys rotate --server http://127.0.0.1:8080",
			setup: func(m *Main, fs *flag.FlagSet) action {
				return m.remote(fs, func(ctx context.Context, c *client.Client, _ []string) error {
					out, err := c.RotateKeys(ctx)
					return m.done(err, "KEK version %d is current; %d intermediate keys and %d older keysets rewrapped, no ciphertext touched (log entry %d).\n", out.Version, out.Intermediates, out.Rewraps, out.Receipt)
				})
			},
		}}
}
