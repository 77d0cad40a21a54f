package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/client"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/receipt"
	"github.com/ombud/ombud/tips"
)

func logCommands() []command {
	return []command{{name: "receipt", usage: "INDEX [--out FILE]", args: [2]int{1, 1},
		summary: "fetch the receipt of a log entry from a running server",
		example: "ombud receipt 42 --out receipt-42.json",
		setup: func(m *Main, fs *flag.FlagSet) action {
			connect := m.connect(fs, false)
			out := fs.String("out", "", "write the receipt to FILE instead of stdout")
			return func(ctx context.Context, args []string) error {
				index, err := strconv.ParseUint(args[0], 10, 64)
				if err != nil {
					return usagef("receipt: %q is not a log index", args[0])
				}
				c, err := connect()
				if err != nil {
					return err
				}
				raw, err := c.Receipt(ctx, index)
				if err != nil {
					return err
				}
				if *out == "" {
					_, err := m.Stdout.Write(raw)
					return err
				}
				return os.WriteFile(*out, raw, 0o644)
			}
		},
	}, {name: "verify-receipt", usage: "FILE --key VKEY [--server URL]", args: [2]int{1, 1}, need: []string{"key"},
		summary: "check a receipt, or a whistleblower's proof of filing, offline against the log's verifier key (exit 3 when it does not verify); with --server, also a proof of filing's record in the log",
		example: "ombud verify-receipt receipt-42.json --key \"$(curl -s http://127.0.0.1:8080/log/key)\"",
		setup: func(m *Main, fs *flag.FlagSet) action {
			key := fs.String("key", "", "the log's note verifier key, or a file holding it (use - for FILE to read stdin)")
			server := fs.String("server", "", "for a proof of filing: the deployment to fetch its record's receipt from, which is then checked offline as any receipt")
			return func(ctx context.Context, args []string) error {
				v, err := loadVerifier(*key)
				if err != nil {
					return err
				}
				var raw []byte
				if args[0] == "-" {
					raw, err = io.ReadAll(io.LimitReader(m.Stdin, receipt.MaxSize+1))
				} else {
					raw, err = readLimited(args[0], receipt.MaxSize+1)
				}
				if err != nil {
					return err
				}
				if bytes.HasPrefix(bytes.TrimSpace(raw), []byte(tips.PromiseHeader)) {
					return m.verifyPromise(ctx, raw, v, *server)
				}
				r, err := receipt.Parse(raw)
				if err != nil {
					return checkFailed{err}
				}
				cp, e, err := receipt.Verify(r, v)
				if err != nil {
					return checkFailed{err}
				}
				fmt.Fprintf(m.Stdout, "OK: entry %d (%s at %s) is in log %s, checkpoint size %d\n", r.Index, e.Kind, e.Time.Format("2006-01-02T15:04:05.000Z"), cp.Origin, cp.Size)
				return nil
			}
		},
	}, {name: "report publish", usage: "--period PERIOD", need: []string{"period"},
		summary: "publish the transparency report of a period, signed and logged",
		example: "ombud report publish --period 2026-11",
		setup: func(m *Main, fs *flag.FlagSet) action {
			period := fs.String("period", "", "a month (2026-11), a quarter (2026-Q4), a year (2026) or days (2026-11-01..2026-11-15)")
			return m.remote(fs, func(ctx context.Context, c *client.Client, _ []string) error {
				out, err := c.PublishReport(ctx, apiv1.PublishReport{Period: *period})
				if err != nil {
					return err
				}
				fmt.Fprintf(m.Stdout, "Published the report for %s, computed at %d entries (SHA-256 %s, log entry %d):\n  %s%s\n",
					out.Period, out.CheckpointSize, out.SHA256, out.Receipt, c.Server(), out.URL)
				return nil
			})
		},
	},
		auditCommand(), witnessKeygenCommand(), witnessServeCommand(),
	}
}

// loadVerifier accepts a verifier key or the path of a file holding one.
func loadVerifier(s string) (note.Verifier, error) {
	if v, err := note.NewVerifier(strings.TrimSpace(s)); err == nil {
		return v, nil
	}
	b, err := readLimited(s, 4096)
	if err != nil {
		return nil, usagef("--key: not a verifier key, and not a readable file: %v", err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, usagef("--key %s: %v", s, err)
	}
	return v, nil
}

// verifyPromise checks a proof of filing with the log's key and, with a
// server, the receipt of its record: the entry of a tip holding its
// commitment. A promise past its day with no record is a failed check.
func (m *Main) verifyPromise(ctx context.Context, raw []byte, v note.Verifier, server string) error {
	p, err := tips.OpenPromise(raw, v)
	if err != nil {
		return checkFailed{err}
	}
	fmt.Fprintf(m.Stdout, "OK: the proof of filing is signed by log %s: the submission %s, filed on %s, is promised a record by the end of %s (UTC).\n",
		p.Origin, p.Commitment, p.Filed, p.LoggedBy)
	if server == "" {
		fmt.Fprintln(m.Stdout, "Give --server to check its record in the log.")
		return nil
	}
	c, err := client.New(server, "")
	if err != nil {
		return err
	}
	rb, err := c.TipReceipt(ctx, p.Commitment)
	var ce *client.Error
	if errors.As(err, &ce) && ce.Status == 404 {
		if p.Overdue(time.Now()) {
			return checkFailed{fmt.Errorf("the promise was broken: %s has passed and the log holds no record of the submission (give the proof to an auditor: ombud audit --tip-promise FILE)", p.LoggedBy)}
		}
		fmt.Fprintf(m.Stdout, "Not yet in the log: it is due by the end of %s.\n", p.LoggedBy)
		return nil
	}
	if err != nil {
		return err
	}
	r, err := receipt.Parse(rb)
	if err != nil {
		return checkFailed{err}
	}
	cp, e, err := receipt.Verify(r, v)
	if err != nil {
		return checkFailed{err}
	}
	if e.Kind != entry.KindTip || e.Fields["commitment"] != p.Commitment {
		return checkFailed{fmt.Errorf("entry %d is not the record of this submission", r.Index)}
	}
	if d := e.Time.UTC().Format(time.DateOnly); d != p.Filed {
		return checkFailed{fmt.Errorf("the promise was broken: entry %d records the submission as filed on %s, the promise on %s (give the proof to an auditor: ombud audit --tip-promise FILE)", r.Index, d, p.Filed)}
	}
	fmt.Fprintf(m.Stdout, "OK: the promise was kept: entry %d (%s of %s) is in log %s, checkpoint size %d.\n", r.Index, e.Fields["op"], e.Time.Format(time.DateOnly), cp.Origin, cp.Size)
	return nil
}
