package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/client"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/tips"
)

// readIdentities reads the oversight body's age identities from a file,
// as age-keygen writes them.
func readIdentities(path string) ([]age.Identity, error) {
	raw, err := readLimited(path, 64<<10)
	if err != nil {
		return nil, err
	}
	ids, err := age.ParseIdentities(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ids, nil
}

func tipCommands() []command {
	return []command{{name: "tips list", usage: "[--unanswered] [--identity FILE]",
		summary: "list the whistleblower intake's tips, their deadlines and which are late; with --identity, the first line of each",
		example: "ombud tips list --unanswered --identity oversight.key",
		setup: func(m *Main, fs *flag.FlagSet) action {
			unanswered := fs.Bool("unanswered", false, "only the tips not yet answered")
			identity := fs.String("identity", "", "the oversight body's age identity file: opens each tip here, to show its first line")
			return m.remote(fs, func(ctx context.Context, c *client.Client, _ []string) error {
				var ids []age.Identity
				if *identity != "" {
					var err error
					if ids, err = readIdentities(*identity); err != nil {
						return err
					}
				}
				fmt.Fprintf(m.Stdout, "%-16s  %-10s  %-6s  %-12s  %-12s  %-26s  %s\n", "ID", "FILED", "LOGGED", "ACKNOWLEDGED", "ANSWERED", "LATE", "FIRST LINE")
				after := ""
				for {
					page, err := c.Tips(ctx, *unanswered, after)
					if err != nil {
						return err
					}
					for _, t := range page.Tips {
						first := ""
						if ids != nil {
							if o, err := openTipMessage(ctx, c, t.ID, 1, ids); err != nil {
								first = "(" + err.Error() + ")"
							} else {
								first = firstLine(o.Message, len(o.Files))
							}
						}
						fmt.Fprintf(m.Stdout, "%-16s  %-10s  %-6v  %-12s  %-12s  %-26s  %s\n", t.ID, t.Filed, t.Logged,
							or(t.Acknowledged, "by "+t.AckDue), or(t.Answered, "by "+t.FeedbackDue), or(strings.Join(t.Late, ","), "-"), first)
					}
					if page.Next == "" {
						return nil
					}
					after = page.Next
				}
			})
		},
	}, {name: "tips read", usage: "TIP --identity FILE [--out DIR]", args: [2]int{1, 1}, need: []string{"identity"},
		summary: "open a tip's messages here, with the oversight body's identity: prints each message, and saves its files with --out",
		example: "ombud tips read k3x9q2m7a1b4c5d6 --identity oversight.key --out tip-k3x9",
		setup: func(m *Main, fs *flag.FlagSet) action {
			identity := fs.String("identity", "", "the oversight body's age identity file (age-keygen)")
			out := fs.String("out", "", "save each message's files under DIR/N/ (made, and must not exist)")
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				ids, err := readIdentities(*identity)
				if err != nil {
					return err
				}
				t, err := c.Tip(ctx, args[0])
				if err != nil {
					return err
				}
				if *out != "" {
					if err := os.Mkdir(*out, 0o700); err != nil {
						return err
					}
				}
				fmt.Fprintf(m.Stdout, "Tip %s, filed %s. Acknowledgment due by %s%s, feedback by %s%s.\n", t.ID, t.Filed,
					t.AckDue, given(t.Acknowledged), t.FeedbackDue, given(t.Answered))
				for _, msg := range t.Messages {
					logged := "not yet logged"
					if msg.Logged {
						logged = fmt.Sprintf("log entry %d", msg.Index)
					}
					if msg.Op != ombud.TipFiled && msg.Op != ombud.TipFollowedUp {
						fmt.Fprintf(m.Stdout, "\n[%d] %s, %s, to the source (sealed to its codename), %s\n", msg.N, msg.Op, msg.Day, logged)
						continue
					}
					o, err := openTipMessage(ctx, c, t.ID, msg.N, ids)
					if err != nil {
						return err
					}
					fmt.Fprintf(m.Stdout, "\n[%d] %s, %s, from the source, %s:\n%s\n", msg.N, msg.Op, msg.Day, logged, o.Message)
					for _, f := range o.Files {
						where := ""
						if *out != "" {
							dir := filepath.Join(*out, fmt.Sprint(msg.N))
							if err := os.MkdirAll(dir, 0o700); err != nil {
								return err
							}
							p := filepath.Join(dir, filepath.Base(f.Name))
							if err := os.WriteFile(p, f.Body, 0o600); err != nil {
								return err
							}
							where = " saved as " + p
						}
						fmt.Fprintf(m.Stdout, "  file %s, %d bytes%s\n", strings.TrimPrefix(f.Name, "files/"), len(f.Body), where)
					}
				}
				if *out == "" {
					for _, msg := range t.Messages {
						if msg.Op == ombud.TipFiled || msg.Op == ombud.TipFollowedUp {
							fmt.Fprintln(m.Stdout, "\nFiles are listed, not saved: give --out DIR to save them.")
							break
						}
					}
				}
				return nil
			})
		},
	}, {name: "tips reply", usage: "TIP --op acknowledged|answered|replied (--message TEXT | --message-file FILE)", args: [2]int{1, 1}, need: []string{"op"},
		summary: "send the source a reply sealed here to its codename's key (logged at once): an acknowledgment of receipt, feedback, or another message",
		example: "ombud tips reply k3x9q2m7a1b4c5d6 --op acknowledged --message 'We received your report and are looking into it.'",
		setup: func(m *Main, fs *flag.FlagSet) action {
			op := fs.String("op", "", "acknowledged (receipt acknowledged), answered (feedback on what was done) or replied (another message)")
			message := fs.String("message", "", "the reply's text")
			file := fs.String("message-file", "", "a file holding the reply's text (- for stdin)")
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				if (*message == "") == (*file == "") {
					return usagef("tips reply: give the reply with --message or --message-file, one of them")
				}
				text := *message
				if *file != "" {
					var raw []byte
					var err error
					if *file == "-" {
						raw, err = io.ReadAll(io.LimitReader(m.Stdin, tips.MaxReply+1))
					} else {
						raw, err = readLimited(*file, tips.MaxReply+1)
					}
					if err != nil {
						return err
					}
					text = string(raw)
				}
				t, err := c.Tip(ctx, args[0])
				if err != nil {
					return err
				}
				var sealed bytes.Buffer
				if _, err := tips.SealReply(&sealed, t.ReplyKey, text); err != nil {
					return err
				}
				after, idx, err := c.ReplyTip(ctx, t.ID, *op, sealed.Bytes())
				return m.done(err, "Sent the source of tip %s a reply (%s), sealed to its codename (log entry %d). Acknowledged %s, answered %s.\n",
					t.ID, *op, idx, or(after.Acknowledged, "not yet"), or(after.Answered, "not yet"))
			})
		},
	}}
}

// openTipMessage fetches message n of tip id, checks it is what its entry
// commits to, and opens it with ids.
func openTipMessage(ctx context.Context, c *client.Client, id string, n int, ids []age.Identity) (*tips.Opened, error) {
	sealed, err := c.TipMessage(ctx, id, n, datadir.MaxTipBytes+1<<20)
	if err != nil {
		return nil, err
	}
	t, err := c.Tip(ctx, id)
	if err != nil {
		return nil, err
	}
	got, _ := tips.Commitment(bytes.NewReader(sealed))
	var want string
	for _, m := range t.Messages {
		if m.N == n {
			want = m.Commitment
		}
	}
	if got != want {
		return nil, errors.New("message " + fmt.Sprint(n) + " is not what its record commits to")
	}
	return tips.Open(bytes.NewReader(sealed), ids, datadir.MaxTipBytes+1<<20)
}

func firstLine(msg string, files int) string {
	line, _, _ := strings.Cut(strings.TrimSpace(msg), "\n")
	if len(line) > 60 {
		line = line[:60] + "…"
	}
	if files > 0 {
		line += fmt.Sprintf(" (+%d files)", files)
	}
	return line
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func given(day string) string {
	if day == "" {
		return " (not yet given)"
	}
	return " (given " + day + ")"
}
