package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

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
