package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/client"
)

func runCommands() []command {
	return []command{{name: "run start", usage: "--system ID --version V --purpose CODE [--authorization ID] (--object ID … | --objects-file FILE | --class C --subject S)",
		need:    []string{"system", "version", "purpose"},
		summary: "start an analytic run: the whole set is checked, one use of the authorization is spent, and the run is logged; prints the run's id last",
		example: "ombud run start --system k3x9q2m7a1b4c5d6 --version 2.0 --purpose criminal_investigation --authorization auth-2026-0042 --class location --subject plate:B-XY-123",
		setup: func(m *Main, fs *flag.FlagSet) action {
			var in apiv1.StartRun
			fs.StringVar(&in.System, "system", "", "the analytic system's id")
			fs.StringVar(&in.Version, "version", "", "the system version that runs")
			fs.StringVar(&in.Purpose, "purpose", "", "a registered purpose code")
			fs.StringVar(&in.Authorization, "authorization", "", "the authorization (required when any object is of a sensitive class)")
			fs.StringVar(&in.Justification, "justification", "", "free text, kept only in the detail record")
			var objects multiFlag
			fs.Var(&objects, "object", "an object id (repeatable)")
			file := fs.String("objects-file", "", "a file of object ids, one per line (- for stdin)")
			var sel apiv1.RunSelection
			fs.StringVar(&sel.Class, "class", "", "select every live object of this class …")
			fs.StringVar(&sel.Subject, "subject", "", "… that names this subject")
			return m.remote(fs, func(ctx context.Context, c *client.Client, _ []string) error {
				in.Objects = objects
				if *file != "" {
					ids, err := readIDs(m, *file)
					if err != nil {
						return err
					}
					in.Objects = append(in.Objects, ids...)
				}
				if sel.Class != "" || sel.Subject != "" {
					in.Selection = &sel
				}
				out, err := c.StartRun(ctx, in)
				return m.done(err, "Started run %s over %d objects, until %s (log entry %d).\n%s\n", out.ID, out.Objects, out.Until.Format("2006-01-02 15:04:05Z07:00"), out.Receipt, out.ID)
			})
		},
	}, {name: "run fetch", usage: "RUN --out DIR [--from N]", args: [2]int{1, 1}, need: []string{"out"},
		summary: "write a run's objects to DIR, each logged before it arrives; an interrupted fetch resumes where it stopped",
		example: "ombud run fetch 9c2kq7w1x3b5n8m4 --out ./run-objects",
		setup: func(m *Main, fs *flag.FlagSet) action {
			out := fs.String("out", "", "the directory to write the objects to (made if needed)")
			from := fs.Int("from", -1, "the position to start at (default: where the last fetch into DIR stopped)")
			progress := fs.Bool("progress", true, "draw a progress bar when stderr is a terminal")
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				return m.fetchRun(ctx, c, args[0], *out, *from, *progress)
			})
		},
	}, {name: "run close", usage: "RUN", args: [2]int{1, 1},
		summary: "close a run: no more reads; the summary (objects and bytes read) is logged",
		example: "ombud run close 9c2kq7w1x3b5n8m4",
		setup: func(m *Main, fs *flag.FlagSet) action {
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				r, err := c.CloseRun(ctx, args[0])
				return m.done(err, "Closed run %s: %d objects read, %d bytes (log entry %d).\n", r.ID, r.Read, r.Bytes, r.CloseReceipt)
			})
		},
	}, {name: "run status", usage: "RUN", args: [2]int{1, 1},
		summary: "show a run: its system version, purpose, time limit and what it read",
		example: "ombud run status 9c2kq7w1x3b5n8m4",
		setup: func(m *Main, fs *flag.FlagSet) action {
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				r, err := c.Run(ctx, args[0])
				if err != nil {
					return err
				}
				enc := json.NewEncoder(m.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			})
		},
	}}
}

// readIDs reads object ids, one per line, from a file or stdin.
func readIDs(m *Main, name string) ([]string, error) {
	var r io.Reader
	if name == "-" {
		r = m.Stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, 8<<20))
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			ids = append(ids, l)
		}
	}
	return ids, nil
}

// runManifest is one line of DIR/manifest.jsonl: what the fetch got for
// one position, with the receipt of its logged decision.
type runManifest struct {
	Position int    `json:"position"`
	Object   string `json:"object"`
	Class    string `json:"class"`
	Decision string `json:"decision"`
	Reason   string `json:"reason,omitempty"`
	Receipt  uint64 `json:"receipt"`
	Bytes    int64  `json:"bytes,omitempty"`
	File     string `json:"file,omitempty"`
}

// fetchRun writes a run's objects into dir, each as POSITION-OBJECT once
// whole (written to a temporary name, synced and renamed), and a line per
// object in manifest.jsonl. DIR/.next holds the position to resume at.
func (m *Main) fetchRun(ctx context.Context, c *client.Client, id, dir string, from int, progress bool) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	next := filepath.Join(dir, ".next")
	if from < 0 {
		from = 0
		if b, err := os.ReadFile(next); err == nil {
			if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n >= 0 {
				from = n
			}
		}
	}
	run, err := c.Run(ctx, id)
	if err != nil {
		return err
	}
	var bar func(done, total uint64)
	if progress && isTerminal(m.Stderr) {
		bar = progressOf(m.Stderr, "objects")
	}
	manifest, err := os.OpenFile(filepath.Join(dir, "manifest.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer manifest.Close()
	s, err := c.ReadRun(ctx, id, from)
	if err != nil {
		return err
	}
	defer s.Close()
	got, denied := 0, 0
	var bytes int64
	var ended *client.RunPart
	for {
		p, err := s.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%w; run the same command again to resume at position %d", err, from+got+denied)
		}
		line := runManifest{Position: p.Position, Object: p.Object, Class: p.Class, Decision: "permit", Receipt: p.Receipt}
		if p.Denied {
			denied++
			line.Decision, line.Reason = "deny", p.Reason
			fmt.Fprintf(m.Stderr, "\nposition %d, object %s: denied, %s (log entry %d)\n", p.Position, p.Object, p.Reason, p.Receipt)
			if ombud.EndsRun(p.Reason) {
				ended = p
			}
		} else {
			line.File = fmt.Sprintf("%06d-%s", p.Position, p.Object)
			n, err := writeWhole(filepath.Join(dir, line.File), p.Body)
			if err != nil {
				return fmt.Errorf("object %s at position %d: %w; run the same command again to resume", p.Object, p.Position, err)
			}
			line.Bytes = n
			bytes += n
			got++
		}
		b, _ := json.Marshal(line)
		if _, err := manifest.Write(append(b, '\n')); err != nil {
			return err
		}
		resume := p.Position + 1
		if ended == p {
			resume = p.Position // not read: a later fetch tries it again
		}
		if err := os.WriteFile(next, []byte(strconv.Itoa(resume)+"\n"), 0o600); err != nil {
			return err
		}
		if bar != nil {
			bar(uint64(p.Position+1), uint64(run.Objects))
		}
	}
	if bar != nil {
		fmt.Fprintln(m.Stderr)
	}
	if _, err := fmt.Fprintf(m.Stdout, "Fetched %d objects (%d bytes) of run %s into %s; %d denied. Each decision is logged: see manifest.jsonl for the receipts.\n", got, bytes, id, dir, denied); err != nil {
		return err
	}
	if ended != nil {
		return fmt.Errorf("the run stopped at position %d: %s (log entry %d); positions %d to %d were not read", ended.Position, ended.Reason, ended.Receipt, ended.Position, run.Objects-1)
	}
	return nil
}

// writeWhole writes r to name through a temporary file, synced and then
// renamed, so name exists only whole.
func writeWhole(name string, r io.Reader) (int64, error) {
	tmp := name + ".part"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return n, err
}
