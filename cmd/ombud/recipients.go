package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/client"
)

func recipientCommands() []command {
	return []command{{name: "recipient add", usage: "--name NAME --category CODE --jurisdiction CODE (--key age1… | --key-file FILE)",
		need:    []string{"name", "category", "jurisdiction"},
		summary: "register a body that exports may go to, with its age X25519 recipient; prints the recipient's id last",
		example: "ombud recipient add --name 'Police nationale, unit 12' --category foreign_authority --jurisdiction EU-FR --key-file unit12.pub",
		setup: func(m *Main, fs *flag.FlagSet) action {
			var in apiv1.RegisterRecipient
			fs.StringVar(&in.Name, "name", "", "the recipient's name (private: kept in the detail record, never in the public log)")
			fs.StringVar(&in.Category, "category", "", "its category, a code of the recipient_category vocabulary (agency, court, foreign_authority, vendor, other by default)")
			fs.StringVar(&in.Jurisdiction, "jurisdiction", "", "its jurisdiction, a code of the jurisdiction vocabulary (such as EU-FR)")
			fs.StringVar(&in.Key, "key", "", "its age X25519 recipient (age1…), as age-keygen -y prints it")
			keyFile := fs.String("key-file", "", "a file holding its age X25519 recipient (the first line that is not a comment)")
			return m.remote(fs, func(ctx context.Context, c *client.Client, _ []string) error {
				if (in.Key == "") == (*keyFile == "") {
					return usagef("recipient add: give the recipient's key with --key or --key-file, one of them")
				}
				if *keyFile != "" {
					k, err := readRecipientKey(*keyFile)
					if err != nil {
						return err
					}
					in.Key = k
				}
				out, err := c.RegisterRecipient(ctx, in)
				return m.done(err, "Registered recipient %s (%s, %s) (log entry %d).\n%s\n", out.ID, in.Category, in.Jurisdiction, out.Receipt, out.ID)
			})
		},
	}, {name: "recipient retire", usage: "RECIPIENT", args: [2]int{1, 1},
		summary: "retire a recipient: no export goes to it from then on",
		example: "ombud recipient retire k3x9q2m7a1b4c5d6",
		setup: func(m *Main, fs *flag.FlagSet) action {
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				out, err := c.RetireRecipient(ctx, args[0])
				return m.done(err, "Retired recipient %s (log entry %d).\n", args[0], out.Receipt)
			})
		},
	}, {name: "recipient list", summary: "list the registered recipients, retired ones too",
		example: "ombud recipient list",
		setup: func(m *Main, fs *flag.FlagSet) action {
			return m.remote(fs, func(ctx context.Context, c *client.Client, _ []string) error {
				rs, err := c.Recipients(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(m.Stdout, "%-16s  %-18s  %-12s  %-9s  %s\n", "ID", "CATEGORY", "JURISDICTION", "STATE", "NAME")
				for _, r := range rs {
					state := "active"
					if r.Retired != nil {
						state = "retired"
					}
					fmt.Fprintf(m.Stdout, "%-16s  %-18s  %-12s  %-9s  %s\n", r.ID, r.Category, r.Jurisdiction, state, r.Name)
				}
				return nil
			})
		},
	}, {name: "notices", usage: "[--recipient ID] [--state owed|sent]",
		summary: "list the erasure notices owed to recipients of exported objects that were erased, and those sent",
		example: "ombud notices --state owed",
		setup: func(m *Main, fs *flag.FlagSet) action {
			recipient := fs.String("recipient", "", "only the notices owed to this recipient")
			state := fs.String("state", "", "owed (not yet sent) or sent; both when absent")
			return m.remote(fs, func(ctx context.Context, c *client.Client, _ []string) error {
				fmt.Fprintf(m.Stdout, "%-16s  %-16s  %-10s  %-8s  %-20s  %s\n", "ID", "OBJECT", "DUE", "STATE", "RECIPIENT", "NAME")
				after, overdue := "", 0
				for {
					page, err := c.Notices(ctx, *recipient, *state, after)
					if err != nil {
						return err
					}
					for _, n := range page.Notices {
						st := "owed"
						switch {
						case n.Sent != nil:
							st = "sent"
						case n.Overdue:
							st, overdue = "OVERDUE", overdue+1
						}
						fmt.Fprintf(m.Stdout, "%-16s  %-16s  %-10s  %-8s  %-20s  %s\n", n.ID, n.Object, n.Due.Format(time.DateOnly), st, n.Recipient, n.RecipientName)
					}
					if after = page.Next; after == "" {
						break
					}
				}
				if overdue > 0 {
					fmt.Fprintf(m.Stderr, "%d notices are overdue: send them, then record each with ombud notices sent ID --note TEXT.\n", overdue)
				}
				return nil
			})
		},
	}, {name: "notices sent", usage: "NOTICE --note TEXT", args: [2]int{1, 1}, need: []string{"note"},
		summary: "record an erasure notice as sent to its recipient (logged; the note stays in the detail record)",
		example: "ombud notices sent q8z3x5r7t2m9k4w1 --note 'registered letter 2026/118 to the DPO'",
		setup: func(m *Main, fs *flag.FlagSet) action {
			note := fs.String("note", "", "how the notice was sent: a letter's reference, a message's id (private, in the detail record)")
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				out, err := c.SendNotice(ctx, args[0], *note)
				return m.done(err, "Recorded notice %s as sent to recipient %s (log entry %d).\n", args[0], out.Recipient, out.SentReceipt)
			})
		},
	}}
}

// readRecipientKey reads an age recipient from a file: its first line
// that is neither empty nor a comment, as age-keygen -y writes it (an
// identity file's "# public key:" comment is read too).
func readRecipientKey(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if len(b) > 64<<10 {
		return "", fmt.Errorf("%s: larger than a recipient file", path)
	}
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if k, ok := strings.CutPrefix(line, "# public key: "); ok {
			return strings.TrimSpace(k), nil
		}
		if line != "" && !strings.HasPrefix(line, "#") {
			if strings.HasPrefix(line, "AGE-SECRET-KEY-") {
				return "", fmt.Errorf("%s holds an age identity, a secret: give the recipient's public key (age-keygen -y %s)", path, path)
			}
			return line, nil
		}
	}
	return "", fmt.Errorf("%s holds no age recipient", path)
}
