package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/ombud/ombud"
	"golang.org/x/mod/sumdb/note"
)

func (m *Main) receiptCmd(ctx context.Context, args []string) error {
	fs := m.flags("receipt INDEX [--out FILE]",
		"ombud receipt 42 --out receipt-42.json",
		"ombud receipt 42 > receipt-42.json")
	c := m.clientFlags(fs)
	out := fs.String("out", "", "write the receipt to FILE instead of stdout")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("receipt: give exactly one log index")
	}
	if _, err := strconv.ParseUint(fs.Arg(0), 10, 64); err != nil {
		return usagef("receipt: %q is not a log index", fs.Arg(0))
	}
	if err := c.ready(m, false); err != nil {
		return err
	}
	var raw []byte
	if err := c.do(ctx, "GET", "/v1/receipts/"+fs.Arg(0), nil, &raw); err != nil {
		return err
	}
	if *out == "" {
		_, err := m.Stdout.Write(raw)
		return err
	}
	return os.WriteFile(*out, raw, 0o644)
}

func (m *Main) verifyReceiptCmd(ctx context.Context, args []string) error {
	fs := m.flags("verify-receipt FILE --key VKEY",
		"ombud verify-receipt receipt-42.json --key \"$(curl -s http://127.0.0.1:8080/log/key)\"",
		"ombud verify-receipt receipt.json --key log.pub")
	key := fs.String("key", "", "the log's note verifier key, or a file holding it (use - for FILE to read stdin)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *key == "" {
		return usagef("verify-receipt: give one receipt FILE and --key VKEY")
	}
	v, err := loadVerifier(*key)
	if err != nil {
		return err
	}
	var raw []byte
	if fs.Arg(0) == "-" {
		raw, err = io.ReadAll(io.LimitReader(m.Stdin, ombud.MaxReceiptSize+1))
	} else {
		raw, err = readLimited(fs.Arg(0), ombud.MaxReceiptSize+1)
	}
	if err != nil {
		return err
	}
	r, err := ombud.ParseReceipt(raw)
	if err != nil {
		return verifyError{err}
	}
	cp, e, err := ombud.VerifyReceipt(r, v)
	if err != nil {
		return verifyError{err}
	}
	fmt.Fprintf(m.Stdout, "OK: entry %d (%s at %s) is in log %s, checkpoint size %d\n", r.Index, e.Kind, e.Time.Format("2006-01-02T15:04:05.000Z"), cp.Origin, cp.Size)
	return nil
}

func readLimited(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, n))
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
