package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/custody"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// stream sends a request with a streaming body or reads a streaming answer:
// no overall timeout, objects may be large.
func (c *client) stream(ctx context.Context, method, path string, hdr http.Header, body io.Reader) (*http.Response, error) {
	return c.send(ctx, &http.Client{}, method, path, hdr, body)
}

// send is the one way the CLI talks to a server: it sets the token, and
// turns an error answer into an error naming the server's code, message and
// (for a logged denial) its receipt.
func (c *client) send(ctx context.Context, hc *http.Client, method, path string, hdr http.Header, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, body)
	if err != nil {
		return nil, err
	}
	if n, err := strconv.ParseInt(hdr.Get("Ombud-Content-Length"), 10, 64); err == nil {
		req.ContentLength = n // a known length: no chunked encoding
		hdr.Del("Ombud-Content-Length")
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach %s: %w", c.server, err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var eb apiv1.ErrorBody
		msg := resp.Status
		if json.Unmarshal(raw, &eb) == nil && eb.Error.Code != "" {
			msg = fmt.Sprintf("%d %s: %s", resp.StatusCode, eb.Error.Code, eb.Error.Message)
		}
		if r := resp.Header.Get("Ombud-Receipt"); r != "" {
			msg += " (decision logged as entry " + r + ")"
		}
		return nil, fmt.Errorf("server refused (%s)", msg)
	}
	return resp, nil
}

func (m *Main) putCmd(ctx context.Context, args []string) error {
	fs := m.flags("put FILE --class CLASS [--subject ID …] [--source S] [--collected-at T] [--region R]",
		"ombud put plate-scan.jpg --class location --subject plate:B-XY-123 --source alpr-7",
		"ombud put report.pdf --class document")
	c := m.clientFlags(fs)
	class := fs.String("class", "", "data class (see [[class]] in ombud.toml)")
	var subjects multiFlag
	fs.Var(&subjects, "subject", "identifier of a person the object is about (repeatable; stored only as a keyed pseudonym)")
	source := fs.String("source", "", "the system that collected it")
	collected := fs.String("collected-at", "", "collection time, RFC 3339 (default: now)")
	region := fs.String("region", "", "residency region, if the class requires one")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *class == "" {
		return usagef("put: give one FILE (or - for stdin) and --class")
	}
	if err := c.ready(m, true); err != nil {
		return err
	}
	var body io.Reader = m.Stdin
	var size int64 = -1
	if fs.Arg(0) != "-" {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil {
			size = fi.Size()
		}
		body = f
	}
	hdr := http.Header{}
	hdr.Set("Ombud-Class", *class)
	hdr.Set("Content-Type", "application/octet-stream")
	if len(subjects) > 0 {
		hdr.Set("Ombud-Subjects", strings.Join(subjects, ","))
	}
	for k, v := range map[string]string{"Ombud-Source": *source, "Ombud-Collected-At": *collected, "Ombud-Region": *region} {
		if v != "" {
			hdr.Set(k, v)
		}
	}
	if size >= 0 {
		hdr.Set("Ombud-Content-Length", strconv.FormatInt(size, 10))
	}
	resp, err := c.stream(ctx, "PUT", "/v1/objects", hdr, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var o apiv1.Object
	if err := json.NewDecoder(resp.Body).Decode(&o); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	fmt.Fprintf(m.Stdout, "Stored object %s (%s, %d bytes, kept until %s; log entry %d)\n", o.ID, o.Class, o.Size, o.RetainUntil.Format(time.RFC3339), *o.Receipt)
	fmt.Fprintln(m.Stdout, o.ID)
	return nil
}

func (m *Main) getCmd(ctx context.Context, args []string) error {
	fs := m.flags("get ID --purpose PURPOSE [--out FILE]",
		"ombud get k3x9q2m7a1b4c5d6 --purpose audit_sample --out report.pdf",
		"ombud get ID --purpose audit_sample > object.bin")
	c := m.clientFlags(fs)
	purpose := fs.String("purpose", "", "why you read it: a purpose code, logged with the decision")
	authz := fs.String("authorization", "", "the registered authorization this read relies on (required for sensitive classes)")
	justification := fs.String("justification", "", "free text, kept only in the private detail record")
	emergency := fs.String("emergency", "", "emergency reason code, where policy allows reads before an authorization")
	out := fs.String("out", "", "write to FILE instead of stdout (removed again if the read fails)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *purpose == "" {
		return usagef("get: give one object ID and --purpose")
	}
	if err := c.ready(m, true); err != nil {
		return err
	}
	hdr := http.Header{}
	hdr.Set("Ombud-Purpose", *purpose)
	for k, v := range map[string]string{"Ombud-Authorization": *authz, "Ombud-Justification": *justification, "Ombud-Emergency": *emergency} {
		if v != "" {
			hdr.Set(k, v)
		}
	}
	// The output file is made before the read is asked for: a read is a
	// logged decision that may spend an authorization use, and must not
	// be spent on a file that cannot be written.
	var w io.Writer = m.Stdout
	var f *os.File
	if *out != "" {
		var err error
		if f, err = os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
			return fmt.Errorf("--out: %w; nothing was read", err)
		}
		w = f
	}
	resp, err := c.stream(ctx, "GET", "/v1/objects/"+url.PathEscape(fs.Arg(0)), hdr, nil)
	if err != nil {
		if f != nil {
			f.Close()
			os.Remove(*out)
		}
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("received %d of %d bytes", n, resp.ContentLength)
	}
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(*out)
		}
	}
	if err != nil {
		return fmt.Errorf("read of %s failed, do not trust any partial output: %w", fs.Arg(0), err)
	}
	fmt.Fprintf(m.Stderr, "ombud: read %d bytes; decision logged as entry %s\n", n, resp.Header.Get("Ombud-Receipt"))
	return nil
}

func (m *Main) holdCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "set" && args[0] != "release") {
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			fmt.Fprintf(m.Stderr, "Usage: ombud hold set|release ID --reason R --authorization A\n\nExample:\n  ombud hold set k3x9q2m7a1b4c5d6 --reason litigation --authorization 'order 3 Gs 117/26'\n")
			return nil
		}
		return usagef("hold: set or release?")
	}
	op := args[0]
	fs := m.flags("hold "+op+" ID --reason R --authorization A",
		"ombud hold "+op+" k3x9q2m7a1b4c5d6 --reason litigation --authorization 'order 3 Gs 117/26'", "")
	c := m.clientFlags(fs)
	reason := fs.String("reason", "", "reason code, e.g. litigation, case_closed")
	auth := fs.String("authorization", "", "the authorization or order behind it")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 || *reason == "" || *auth == "" {
		return usagef("hold %s: give one object ID, --reason and --authorization", op)
	}
	if err := c.ready(m, true); err != nil {
		return err
	}
	path := "/v1/objects/" + url.PathEscape(fs.Arg(0)) + "/hold"
	if op == "release" {
		path += "/release"
	}
	var out struct{ Receipt uint64 }
	if err := c.do(ctx, "POST", path, map[string]string{"reason": *reason, "authorization": *auth}, &out); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Hold %s on %s (log entry %d).\n", map[string]string{"set": "set", "release": "released"}[op], fs.Arg(0), out.Receipt)
	return nil
}

func (m *Main) eraseCmd(ctx context.Context, args []string) error {
	fs := m.flags("erase ID --reason REASON --authorization A",
		"ombud erase k3x9q2m7a1b4c5d6 --reason court_order --authorization 'order 3 Gs 117/26'", "")
	c := m.clientFlags(fs)
	reason := fs.String("reason", "", "court_order, authorization_refused or controller_order")
	auth := fs.String("authorization", "", "the order or refused authorization behind it")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *reason == "" || *auth == "" {
		return usagef("erase: give one object ID, --reason and --authorization")
	}
	if err := c.ready(m, true); err != nil {
		return err
	}
	var out struct{ Receipt uint64 }
	if err := c.do(ctx, "POST", "/v1/objects/"+url.PathEscape(fs.Arg(0))+"/erase", map[string]string{"reason": *reason, "authorization": *auth}, &out); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Erased %s: keyset destroyed, ciphertext deleted (log entry %d).\n", fs.Arg(0), out.Receipt)
	return nil
}

func (m *Main) sweepCmd(ctx context.Context, args []string) error {
	fs := m.flags("sweep", "ombud sweep", "ombud sweep --server http://127.0.0.1:8080")
	c := m.clientFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := c.ready(m, true); err != nil {
		return err
	}
	var out custody.SweepResult
	if err := c.do(ctx, "POST", "/v1/sweep", nil, &out); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Sweep: %d expired objects shredded, %d emergency breaches logged, %d interrupted changes settled, %d detail records past their retention erased.\n",
		out.Erased, out.Breaches, out.Settled.Committed+out.Settled.Undone, sum(out.Details))
	return nil
}

func (m *Main) keysCmd(ctx context.Context, args []string) error {
	if done, err := m.subcommand(args, "keys", "rotate", "Usage: ombud keys rotate\n\nExample:\n  ombud keys rotate --server http://127.0.0.1:8080\n"); done {
		return err
	}
	fs := m.flags("keys rotate", "ombud keys rotate", "")
	c := m.clientFlags(fs)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if err := c.ready(m, true); err != nil {
		return err
	}
	var out struct {
		Version int    `json:"kek_version"`
		Rewraps int    `json:"keysets_rewrapped"`
		Receipt uint64 `json:"receipt"`
	}
	if err := c.do(ctx, "POST", "/v1/keys/rotate", nil, &out); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "KEK version %d is current; %d keysets rewrapped, no ciphertext touched (log entry %d).\n", out.Version, out.Rewraps, out.Receipt)
	return nil
}

func sum[K comparable](m map[K]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
