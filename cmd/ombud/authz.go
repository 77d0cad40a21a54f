package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/access"
	"github.com/ombud/ombud/apiv1"
)

func (m *Main) authzCmd(ctx context.Context, args []string) error {
	sub := ""
	if len(args) > 0 {
		sub = args[0]
	}
	switch sub {
	case "keygen":
		return m.authzKeygen(args[1:])
	case "sign":
		return m.authzSign(args[1:])
	case "register":
		return m.authzRegister(ctx, args[1:])
	case "revoke":
		return m.authzRevoke(ctx, args[1:])
	case "-h", "--help":
		fmt.Fprintf(m.Stderr, "Usage: ombud authz keygen|sign|register|revoke [flags]\n\nExample:\n  ombud authz keygen --name court.example/district-3\n  ombud authz sign --key court.example_district-3.key --id auth-1 --kind court_order --case '3 Gs 117/26' \\\n    --purpose criminal_investigation --class location --subject plate:B-XY-123 \\\n    --not-after 2026-12-31T00:00:00Z --max-uses 10 --jurisdiction EU-DE > auth-1.note\n  ombud authz register auth-1.note\n")
		return nil
	}
	return usagef("authz: keygen, sign, register or revoke?")
}

func (m *Main) authzKeygen(args []string) error {
	fs := m.flags("authz keygen --name NAME", "ombud authz keygen --name court.example/district-3", "")
	name := fs.String("name", "", "the issuer's name, as it will be registered (e.g. court.example/district-3)")
	dir := fs.String("dir", ".", "directory for the private key file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return usagef("authz keygen: --name is required")
	}
	vkey, err := m.writeKeyPair(*name, *dir, "keep it with the issuer; never send it", nil)
	if err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, vkey)
	return nil
}

// writeKeyPair makes a note key pair named name, checks it with check (when
// set), writes the private key to DIR/NAME.key (mode 0600; it must not
// exist) and returns the verifier key. Nothing is written for a name that
// fails a check.
func (m *Main) writeKeyPair(name, dir, advice string, check func(vkey string) error) (string, error) {
	// The rule issuer registration applies: keys are named like
	// court.example/district-3 or witness.example/w1.
	if !ombud.IsIssuerName(name) {
		return "", usagef("name %q: a host name, then /-separated parts of A-Z a-z 0-9 . _ - (like court.example/district-3)", truncateArg(name))
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", usagef("%v (names are like court.example/district-3, no spaces or +)", err)
	}
	if _, err := note.NewVerifier(vkey); err != nil {
		return "", usagef("name %q does not make a valid key: %v", truncateArg(name), err)
	}
	if check != nil {
		if err := check(vkey); err != nil {
			return "", usagef("name %q: %v", truncateArg(name), err)
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

func truncateArg(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func (m *Main) authzSign(args []string) error {
	fs := m.flags("authz sign --key FILE --id ID --kind KIND --case REF --purpose P… --class C… --subject S… --not-after T --max-uses N --jurisdiction J",
		"ombud authz sign --key court.key --id auth-2026-0042 --kind court_order --case '3 Gs 117/26' --purpose criminal_investigation --class location --subject plate:B-XY-123 --not-after 2026-12-31T00:00:00Z --max-uses 10 --jurisdiction EU-DE", "")
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
	notBefore := fs.String("not-before", "", "start, RFC 3339 (default: now)")
	notAfter := fs.String("not-after", "", "end, RFC 3339")
	fs.IntVar(&a.MaxUses, "max-uses", 0, "how many reads it allows")
	fs.StringVar(&a.Jurisdiction, "jurisdiction", "", "jurisdiction, e.g. EU-DE")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *keyFile == "" {
		return usagef("authz sign: --key is required")
	}
	raw, err := os.ReadFile(*keyFile)
	if err != nil {
		return err
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(raw)))
	if err != nil {
		return fmt.Errorf("%s: %w", *keyFile, err)
	}
	a.Issuer = signer.Name()
	a.Purposes, a.Classes, a.Subjects, a.ShareRecipients, a.ShareClasses = purposes, classes, subjects, recipients, shareClasses
	a.NotBefore = time.Now().UTC().Truncate(time.Second)
	if *notBefore != "" {
		if a.NotBefore, err = time.Parse(time.RFC3339, *notBefore); err != nil {
			return usagef("--not-before: %v", err)
		}
	}
	if a.NotAfter, err = time.Parse(time.RFC3339, *notAfter); err != nil {
		return usagef("--not-after: want RFC 3339, e.g. 2026-12-31T00:00:00Z")
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

func (m *Main) authzRegister(ctx context.Context, args []string) error {
	fs := m.flags("authz register FILE", "ombud authz register auth-2026-0042.note", "")
	c := m.clientFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("authz register: give one note FILE (or - for stdin)")
	}
	if err := c.ready(m, true); err != nil {
		return err
	}
	var body io.Reader = m.Stdin
	if fs.Arg(0) != "-" {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		body = f
	}
	hdr := http.Header{}
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := c.stream(ctx, "POST", "/v1/authorizations", hdr, io.LimitReader(body, ombud.MaxAuthorizationSize+1))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out apiv1.Authorization
	if err := jsonDecode(resp.Body, &out); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Registered authorization %s from %s (%s, %d uses, until %s; log entry %d).\n", out.ID, out.Issuer, out.Kind, out.MaxUses, out.NotAfter.Format(time.RFC3339), out.Receipt)
	return nil
}

func (m *Main) authzRevoke(ctx context.Context, args []string) error {
	fs := m.flags("authz revoke ID --reason R", "ombud authz revoke auth-2026-0042 --reason order_quashed", "")
	c := m.clientFlags(fs)
	reason := fs.String("reason", "", "reason code")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *reason == "" {
		return usagef("authz revoke: give one ID and --reason")
	}
	if err := c.ready(m, true); err != nil {
		return err
	}
	var out struct{ Receipt uint64 }
	if err := c.do(ctx, "POST", "/v1/authorizations/"+url.PathEscape(fs.Arg(0))+"/revoke", map[string]string{"reason": *reason}, &out); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Revoked %s (log entry %d).\n", fs.Arg(0), out.Receipt)
	return nil
}

func (m *Main) issuerCmd(ctx context.Context, args []string) error {
	if done, err := m.subcommand(args, "issuer", "add", "Usage: ombud issuer add --name N --kind K --jurisdiction J --key VKEY\n\nExample:\n  ombud issuer add --name court.example/district-3 --kind court --jurisdiction EU-DE --key \"$(cat court.pub)\"\n"); done {
		return err
	}
	fs := m.flags("issuer add --name N --kind K --jurisdiction J --key VKEY",
		"ombud issuer add --name court.example/district-3 --kind court --jurisdiction EU-DE --key \"$(cat court.pub)\"", "")
	c := m.clientFlags(fs)
	name := fs.String("name", "", "issuer name (the name in its key)")
	kind := fs.String("kind", "", "court, administrative or supervisory")
	jur := fs.String("jurisdiction", "", "jurisdiction, e.g. EU-DE")
	key := fs.String("key", "", "the issuer's note verifier key")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *name == "" || *kind == "" || *jur == "" || *key == "" {
		return usagef("issuer add: --name, --kind, --jurisdiction and --key are required")
	}
	if err := c.ready(m, true); err != nil {
		return err
	}
	var out struct{ Receipt uint64 }
	if err := c.do(ctx, "POST", "/v1/issuers", map[string]string{"name": *name, "kind": *kind, "jurisdiction": *jur, "key": *key}, &out); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Registered issuer %s (log entry %d).\n", *name, out.Receipt)
	return nil
}

func (m *Main) policyCmd(ctx context.Context, args []string) error {
	sub := ""
	if len(args) > 0 {
		sub = args[0]
	}
	switch sub {
	case "check":
		fs := m.flags("policy check [--data DIR | FILE]", "ombud policy check --data ./ombud-data", "ombud policy check policy.cedar")
		data := fs.String("data", ".ombud", "data directory whose policy.cedar to check")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		path := filepath.Join(*data, "policy.cedar")
		if fs.NArg() == 1 {
			path = fs.Arg(0)
		}
		text, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		p, err := access.ParsePolicy(text)
		if err != nil {
			return verifyError{fmt.Errorf("%s: %w", path, err)}
		}
		fmt.Fprintf(m.Stdout, "OK: %s parses and evaluates (sha256 %s)\n", path, p.SHA)
		return nil
	case "reload":
		fs := m.flags("policy reload", "ombud policy reload", "")
		c := m.clientFlags(fs)
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if err := c.ready(m, true); err != nil {
			return err
		}
		var out struct {
			Version int    `json:"version"`
			Changed bool   `json:"changed"`
			SHA     string `json:"policy_sha256"`
		}
		if err := c.do(ctx, "POST", "/v1/policy/reload", nil, &out); err != nil {
			return err
		}
		if out.Changed {
			fmt.Fprintf(m.Stdout, "Policy version %d is in force (sha256 %s); the change is logged.\n", out.Version, out.SHA)
		} else {
			fmt.Fprintf(m.Stdout, "Policy unchanged: version %d (sha256 %s).\n", out.Version, out.SHA)
		}
		return nil
	case "-h", "--help":
		fmt.Fprintf(m.Stderr, "Usage: ombud policy check|reload\n\nExample:\n  ombud policy check --data ./ombud-data && ombud policy reload\n")
		return nil
	}
	return usagef("policy: check or reload?")
}
