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
	"slices"
	"strings"
	"time"

	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/client"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/receipt"
	"github.com/ombud/ombud/sharing"
)

func exportCommands() []command {
	return []command{{name: "export", usage: "--recipient ID --authorization ID --purpose CODE (--object ID … | --objects-file FILE | --run ID) --out FILE",
		need:    []string{"recipient", "authorization", "purpose", "out"},
		summary: "export objects to a registered recipient: decided and logged whole, then written to FILE as a package sealed to the recipient",
		example: "ombud export --recipient r7t2m9k4w1q8z3x5 --authorization auth-2026-0050 --purpose mutual_legal_assistance --objects-file ids.txt --out mla-113.tar.age",
		setup: func(m *Main, fs *flag.FlagSet) action {
			var in apiv1.StartExport
			fs.StringVar(&in.Recipient, "recipient", "", "the recipient's id (ombud recipient list)")
			fs.StringVar(&in.Authorization, "authorization", "", "the authorization whose sharing scope allows the export")
			fs.StringVar(&in.Purpose, "purpose", "", "a registered purpose code")
			fs.StringVar(&in.Justification, "justification", "", "free text, kept only in the detail record")
			var objects multiFlag
			fs.Var(&objects, "object", "an object id (repeatable)")
			file := fs.String("objects-file", "", "a file of object ids, one per line (- for stdin)")
			fs.StringVar(&in.Run, "run", "", "instead of objects: export the objects of this run of yours")
			out := fs.String("out", "", "the package file to write (not overwritten)")
			progress := fs.Bool("progress", true, "show the bytes written when stderr is a terminal")
			return m.remote(fs, func(ctx context.Context, c *client.Client, _ []string) error {
				in.Objects = objects
				if *file != "" {
					ids, err := readIDs(m, *file)
					if err != nil {
						return err
					}
					in.Objects = append(in.Objects, ids...)
				}
				f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
				if err != nil {
					return err
				}
				body, id, index, err := c.Export(ctx, in)
				if err != nil {
					f.Close()
					os.Remove(*out)
					return err
				}
				defer body.Close()
				var w io.Writer = f
				if *progress && isTerminal(m.Stderr) {
					w = &byteProgress{w: f, out: m.Stderr, start: time.Now()}
				}
				n, err := io.Copy(w, body)
				if err == nil {
					err = f.Sync()
				}
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if *progress && isTerminal(m.Stderr) {
					fmt.Fprintln(m.Stderr)
				}
				if err != nil {
					// A package cut short does not open whole: leave none.
					os.Remove(*out)
					return fmt.Errorf("the package was cut after %d bytes (the export is logged as entry %d; its objects' failures too): %w", n, index, err)
				}
				what := fmt.Sprintf("%d objects", len(in.Objects))
				if in.Run != "" {
					what = "the objects of run " + in.Run
				}
				fmt.Fprintf(m.Stdout, "Exported %s as export %s (log entry %d): %s, %d bytes, sealed to recipient %s.\n%s\n", what, id, index, *out, n, in.Recipient, id)
				return nil
			})
		},
	}, {name: "export open", usage: "PACKAGE --identity FILE [--log-key VKEY] [--out DIR]", args: [2]int{1, 1}, need: []string{"identity"},
		summary: "open an export package as its recipient: check every file against the manifest and, with --log-key, every receipt against the log; print the onward limits (exit 3 when a check fails)",
		example: "ombud export open mla-113.tar.age --identity unit12.key --log-key \"$(curl -s http://127.0.0.1:8080/log/key)\" --out mla-113/",
		setup: func(m *Main, fs *flag.FlagSet) action {
			identity := fs.String("identity", "", "the recipient's age identity file (age-keygen's output)")
			key := fs.String("log-key", "", "the log's note verifier key, or a file holding it: check the receipts")
			out := fs.String("out", "", "a new directory to write the manifest and the objects into")
			return func(ctx context.Context, args []string) error {
				return m.openExport(args[0], *identity, *key, *out)
			}
		},
	}}
}

// byteProgress counts the bytes written through it and shows them at most
// ten times a second.
type byteProgress struct {
	w     io.Writer
	out   io.Writer
	n     int64
	start time.Time
	last  time.Time
}

func (p *byteProgress) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	if time.Since(p.last) >= 100*time.Millisecond {
		p.last = time.Now()
		mb := float64(p.n) / 1e6
		fmt.Fprintf(p.out, "\r%.1f MB written, %.1f MB/s", mb, mb/max(time.Since(p.start).Seconds(), 1e-9))
	}
	return n, err
}

func (m *Main) openExport(path, identityFile, key, out string) error {
	created := false
	err := m.openExportTo(path, identityFile, key, out, &created)
	var failed checkFailed
	if errors.As(err, &failed) && created {
		// Nothing unchecked stays on disk: a package that fails a check
		// leaves none of the directory it made.
		os.RemoveAll(out)
	}
	return err
}

func (m *Main) openExportTo(path, identityFile, key, out string, created *bool) error {
	ids, err := readIdentities(identityFile)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := sharing.OpenPackage(f, ids...)
	if err != nil {
		return checkFailed{err}
	}
	mf := p.Manifest()
	check := func(what string, r *receipt.Receipt, kind entry.Kind, reasons string) (*entry.Entry, error) {
		return nil, nil
	}
	if key != "" {
		v, err := loadVerifier(key)
		if err != nil {
			return err
		}
		// The manifest is the deployment's, signed with the log's key:
		// its digests and its limits are not a sealer's invention.
		if err := p.VerifyManifest(v); err != nil {
			return checkFailed{err}
		}
		check = func(what string, r *receipt.Receipt, kind entry.Kind, reasons string) (*entry.Entry, error) {
			if r == nil {
				return nil, checkFailed{fmt.Errorf("%s has no receipt", what)}
			}
			cp, e, err := receipt.Verify(r, v)
			switch {
			case err != nil:
				return nil, checkFailed{fmt.Errorf("%s: %w", what, err)}
			case cp.Origin != mf.LogOrigin:
				return nil, checkFailed{fmt.Errorf("%s: its checkpoint is of log %q, the manifest names %q", what, cp.Origin, mf.LogOrigin)}
			case e.Kind != kind || e.Fields["decision"] != entry.Permit || (reasons != "" && fmt.Sprint(e.Fields["reasons"]) != reasons):
				return nil, checkFailed{fmt.Errorf("%s: its entry is a %s %v %v, not the permit it should be", what, e.Kind, e.Fields["decision"], e.Fields["reasons"])}
			}
			return e, nil
		}
	}
	xe, err := check("the export", mf.Receipt, entry.KindExport, "")
	if err != nil {
		return err
	}
	if xe != nil {
		// What the log says of the export is what the manifest says.
		counts := map[string]int{}
		for _, o := range mf.Objects {
			counts[o.Class]++
		}
		var cc []string
		for c, n := range counts {
			cc = append(cc, fmt.Sprintf("%s:%d", c, n))
		}
		slices.Sort(cc)
		if fmt.Sprint(xe.Fields["objects"]) != fmt.Sprint(len(mf.Objects)) || xe.Fields["purpose"] != mf.Purpose ||
			xe.Fields["jurisdiction"] != mf.Recipient.Jurisdiction || xe.Fields["recipient_category"] != mf.Recipient.Category ||
			fmt.Sprint(xe.Fields["class_counts"]) != fmt.Sprint(cc) {
			return checkFailed{fmt.Errorf("the export's entry (%v objects, %v, %v) is not the manifest's (%d objects, %s, %v)", xe.Fields["objects"], xe.Fields["purpose"], xe.Fields["class_counts"], len(mf.Objects), mf.Purpose, cc)}
		}
	}
	seen := map[uint64]bool{}
	var dir string
	if out != "" {
		if err := os.Mkdir(out, 0o700); err != nil {
			return err
		}
		*created = true
		dir = out
		if err := os.Mkdir(filepath.Join(dir, "objects"), 0o700); err != nil {
			return err
		}
	}
	var total int64
	for i := 0; ; i++ {
		o, r, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return checkFailed{err}
		}
		oe, err := check("object "+o.ID, o.Receipt, entry.KindAccess, "[in_export]")
		if err != nil {
			return err
		}
		if oe != nil {
			switch {
			case o.Receipt.Index <= mf.Receipt.Index:
				return checkFailed{fmt.Errorf("object %s: its permit (entry %d) comes before the export (entry %d)", o.ID, o.Receipt.Index, mf.Receipt.Index)}
			case seen[o.Receipt.Index]:
				return checkFailed{fmt.Errorf("object %s: its permit (entry %d) is another object's", o.ID, o.Receipt.Index)}
			case slices.Compare(oe.Refs["export"], xe.Refs["export"]) != 0 || len(oe.Refs["export"]) != 1:
				return checkFailed{fmt.Errorf("object %s: its permit is of another export", o.ID)}
			case oe.Fields["class"] != o.Class || oe.Fields["purpose"] != mf.Purpose:
				return checkFailed{fmt.Errorf("object %s: its permit is of class %v for %v, the manifest says %s for %s", o.ID, oe.Fields["class"], oe.Fields["purpose"], o.Class, mf.Purpose)}
			}
			seen[o.Receipt.Index] = true
		}
		w := io.Discard
		var file *os.File
		if dir != "" {
			if file, err = os.OpenFile(filepath.Join(dir, o.File), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
				return err
			}
			w = file
		}
		n, err := io.Copy(w, r)
		if file != nil {
			if cerr := file.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return checkFailed{err}
		}
		total += n
	}
	if dir != "" {
		js, _ := json.MarshalIndent(mf, "", "  ")
		if err := os.WriteFile(filepath.Join(dir, sharing.ManifestName), js, 0o600); err != nil {
			return err
		}
	}
	checked := "files checked against the manifest; the manifest not checked: give --log-key"
	if key != "" {
		checked = "files checked against the manifest, the manifest's signature and the receipts against log " + mf.LogOrigin
	}
	fmt.Fprintf(m.Stdout, "OK: export %s, %d objects, %d bytes (%s).\n", mf.Export, len(mf.Objects), total, checked)
	fmt.Fprintf(m.Stdout, "Recipient: %s (%s, %s). Purpose: %s.\n", mf.Recipient.ID, mf.Recipient.Category, mf.Recipient.Jurisdiction, mf.Purpose)
	onward := "forbidden"
	if mf.Limits.OnwardTransfer {
		onward = "allowed"
	}
	fmt.Fprintf(m.Stdout, "Limits: under authorization %s, for %s only; delete by %s; onward transfer %s.\n",
		mf.Limits.Authorization, strings.Join(mf.Limits.Purposes, ", "), mf.Limits.DeleteBy.Format(time.RFC3339), onward)
	return nil
}
