package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/access"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/client"
)

func authorityCommands() []command {
	return []command{{name: "authz keygen", usage: "--name NAME [--dir DIR]", need: []string{"name"},
		summary: "make an issuer's signing key: the private key goes to a file, the verifier key to stdout",
		example: "ombud authz keygen --name court.example/district-3",
		setup: func(m *Main, fs *flag.FlagSet) action {
			name := fs.String("name", "", "the issuer's name, as it will be registered (e.g. court.example/district-3)")
			dir := fs.String("dir", ".", "directory for the private key file")
			return func(ctx context.Context, _ []string) error {
				vkey, err := m.writeKeyPair(*name, *dir, "keep it with the issuer; never send it", nil)
				if err != nil {
					return err
				}
				fmt.Fprintln(m.Stdout, vkey)
				return nil
			}
		},
	}, {name: "authz sign", usage: "--key FILE --id ID --kind KIND --case REF --purpose P … --class C … --subject S … (--not-after T | --valid-for DURATION) --max-uses N --jurisdiction J", need: []string{"key", "id", "kind", "jurisdiction"},
		summary: "sign an authorization as its issuer; the signed note goes to stdout",
		example: "ombud authz sign --key court.example_district-3.key --id auth-2026-0042 --kind court_order --case '3 Gs 117/26' --purpose criminal_investigation --class location --subject plate:B-XY-123 --not-after 2026-12-31T00:00:00Z --max-uses 10 --jurisdiction EU-DE",
		setup: func(m *Main, fs *flag.FlagSet) action {
			keyFile := fs.String("key", "", "the issuer's private key file (from authz keygen)")
			var a ombud.Authorization
			fs.StringVar(&a.ID, "id", "", "authorization id")
			fs.StringVar(&a.Kind, "kind", "", "warrant, court_order, administrative_order, consent or emergency")
			fs.StringVar(&a.Case, "case", "", "case reference (kept private by ombud)")
			var purposes, classes, subjects, recipients, shareClasses multiFlag
			fs.Var(&purposes, "purpose", "purpose code (repeatable)")
			fs.Var(&classes, "class", "data class (repeatable)")
			fs.Var(&subjects, "subject", "subject identifier, or * where policy allows (repeatable)")
			fs.Var(&recipients, "share-recipient", "recipient an export may go to (repeatable)")
			fs.Var(&shareClasses, "share-class", "class an export may carry (repeatable)")
			var transfers multiFlag
			fs.Var(&transfers, "transfer-jurisdiction", "jurisdiction outside the deployment's an export may go to (repeatable; with --share-recipient)")
			shareUntil := fs.String("share-until", "", "RFC 3339: when recipients must have deleted what they were sent (default: --not-after)")
			onward := fs.Bool("share-onward", false, "recipients may pass what they were sent on to third parties (default: forbidden)")
			notBefore := fs.String("not-before", "", "start, RFC 3339 (default: now)")
			notAfter := fs.String("not-after", "", "end, RFC 3339")
			validFor := fs.Duration("valid-for", 0, "instead of --not-after: the end is the start plus this duration, such as 720h")
			fs.IntVar(&a.MaxUses, "max-uses", 0, "how many reads it allows")
			fs.StringVar(&a.Jurisdiction, "jurisdiction", "", "jurisdiction, e.g. EU-DE")
			return func(ctx context.Context, _ []string) error {
				raw, err := readLimited(*keyFile, 4096)
				if err != nil {
					return err
				}
				signer, err := note.NewSigner(strings.TrimSpace(string(raw)))
				if err != nil {
					return fmt.Errorf("%s: %w", *keyFile, err)
				}
				a.Issuer = signer.Name()
				a.Purposes, a.Classes, a.Subjects, a.ShareRecipients, a.ShareClasses = purposes, classes, subjects, recipients, shareClasses
				a.TransferJurisdictions, a.ShareOnward = transfers, *onward
				if *shareUntil != "" {
					if a.ShareUntil, err = time.Parse(time.RFC3339, *shareUntil); err != nil {
						return usagef("--share-until: %v", err)
					}
					a.ShareUntil = a.ShareUntil.UTC()
				}
				a.NotBefore = time.Now().UTC().Truncate(time.Second)
				if *notBefore != "" {
					if a.NotBefore, err = time.Parse(time.RFC3339, *notBefore); err != nil {
						return usagef("--not-before: %v", err)
					}
				}
				switch {
				case (*notAfter == "") == (*validFor == 0):
					return usagef("authz sign: give one of --not-after or --valid-for")
				case *validFor < 0:
					return usagef("--valid-for %v: want a positive duration", *validFor)
				case *validFor > 0:
					a.NotAfter = a.NotBefore.Add(*validFor)
				default:
					if a.NotAfter, err = time.Parse(time.RFC3339, *notAfter); err != nil {
						return usagef("--not-after: want RFC 3339, e.g. 2026-12-31T00:00:00Z")
					}
				}
				if err := a.Validate(); err != nil {
					return usagef("authz sign: %v", err)
				}
				msg, err := note.Sign(&note.Note{Text: a.Text()}, signer)
				if err != nil {
					return err
				}
				_, err = m.Stdout.Write(msg)
				return err
			}
		},
	}, {name: "authz register", usage: "FILE", args: [2]int{1, 1},
		summary: "register a signed authorization (- reads it from stdin)",
		example: "ombud authz register auth-2026-0042.note",
		setup: func(m *Main, fs *flag.FlagSet) action {
			connect := m.connect(fs, true)
			return func(ctx context.Context, args []string) error {
				var raw []byte
				var err error
				if args[0] == "-" {
					raw, err = io.ReadAll(io.LimitReader(m.Stdin, ombud.MaxAuthorizationSize+1))
				} else {
					raw, err = readLimited(args[0], ombud.MaxAuthorizationSize+1)
				}
				if err != nil {
					return err
				}
				c, err := connect()
				if err != nil {
					return err
				}
				out, err := c.RegisterAuthorization(ctx, raw)
				return m.done(err, "Registered authorization %s from %s (%s, %d uses, until %s; log entry %d).\n", out.ID, out.Issuer, out.Kind, out.MaxUses, out.NotAfter.Format(time.RFC3339), out.Receipt)
			}
		},
	}, {name: "authz revoke", usage: "ID --reason REASON", args: [2]int{1, 1}, need: []string{"reason"},
		summary: "revoke a registered authorization",
		example: "ombud authz revoke auth-2026-0042 --reason order_quashed",
		setup: func(m *Main, fs *flag.FlagSet) action {
			reason := fs.String("reason", "", "revoke reason code")
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				out, err := c.RevokeAuthorization(ctx, args[0], apiv1.Revoke{Reason: *reason})
				return m.done(err, "Revoked %s (log entry %d).\n", args[0], out.Receipt)
			})
		},
	}, {name: "issuer add", usage: "--name NAME --kind KIND --jurisdiction J --key VKEY", need: []string{"name", "kind", "jurisdiction", "key"},
		summary: "register an authority that signs authorizations, with its verifier key",
		example: "ombud issuer add --name court.example/district-3 --kind court --jurisdiction EU-DE --key \"$(cat court.pub)\"",
		setup: func(m *Main, fs *flag.FlagSet) action {
			var in apiv1.RegisterIssuer
			fs.StringVar(&in.Name, "name", "", "issuer name (the name in its key)")
			fs.StringVar(&in.Kind, "kind", "", "court, administrative or supervisory")
			fs.StringVar(&in.Jurisdiction, "jurisdiction", "", "jurisdiction, e.g. EU-DE")
			fs.StringVar(&in.Key, "key", "", "the issuer's note verifier key")
			return m.remote(fs, func(ctx context.Context, c *client.Client, _ []string) error {
				out, err := c.RegisterIssuer(ctx, in)
				return m.done(err, "Registered issuer %s (log entry %d).\n", in.Name, out.Receipt)
			})
		},
	}, {name: "policy check", usage: "[--data DIR | FILE]", args: [2]int{0, 1},
		summary: "check that a Cedar policy parses and evaluates (exit 3 when it does not)",
		example: "ombud policy check --data ./ombud-data",
		setup: func(m *Main, fs *flag.FlagSet) action {
			data := fs.String("data", ".ombud", "data directory whose policy.cedar to check")
			return func(ctx context.Context, args []string) error {
				path := filepath.Join(*data, "policy.cedar")
				if len(args) == 1 {
					path = args[0]
				}
				text, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				p, err := access.ParsePolicy(text)
				if err != nil {
					return checkFailed{fmt.Errorf("%s: %w", path, err)}
				}
				fmt.Fprintf(m.Stdout, "OK: %s parses and evaluates (sha256 %s)\n", path, p.SHA)
				return nil
			}
		},
	}, {name: "policy reload",
		summary: "load the policy file again on a running server; a change is logged",
		example: "ombud policy reload --server http://127.0.0.1:8080",
		setup: func(m *Main, fs *flag.FlagSet) action {
			return m.remote(fs, func(ctx context.Context, c *client.Client, _ []string) error {
				out, err := c.ReloadPolicy(ctx)
				if err != nil {
					return err
				}
				if out.Changed {
					fmt.Fprintf(m.Stdout, "Policy version %d is in force (sha256 %s); the change is logged.\n", out.Version, out.SHA256)
				} else {
					fmt.Fprintf(m.Stdout, "Policy unchanged: version %d (sha256 %s).\n", out.Version, out.SHA256)
				}
				return nil
			})
		},
	}}
}

// writeKeyPair makes a note key pair named name, checks it with check (when
// set), writes the private key to DIR/NAME.key (mode 0600; it must not
// exist) and returns the verifier key. Nothing is written for a name that
// fails a check.
func (m *Main) writeKeyPair(name, dir, advice string, check func(vkey string) error) (string, error) {
	// The rule issuer registration applies: keys are named like
	// court.example/district-3 or witness.example/w1.
	if !ombud.IsIssuerName(name) {
		return "", usagef("name %.40q: a host name, then /-separated parts of A-Z a-z 0-9 . _ - (like court.example/district-3)", name)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", usagef("%v (names are like court.example/district-3, no spaces or +)", err)
	}
	if _, err := note.NewVerifier(vkey); err != nil {
		return "", usagef("name %.40q does not make a valid key: %v", name, err)
	}
	if check != nil {
		if err := check(vkey); err != nil {
			return "", usagef("name %.40q: %v", name, err)
		}
	}
	path := filepath.Join(dir, strings.NewReplacer("/", "_", ":", "_").Replace(name)+".key")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("failed to create %s (it must not exist): %w", path, err)
	}
	if _, err := f.WriteString(skey + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return "", err
	}
	fmt.Fprintf(m.Stderr, "ombud: private key written to %s (%s)\n", path, advice)
	return vkey, nil
}
