package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/ombud/ombud/audit"
	tclient "github.com/transparency-dev/tessera/client"
)

func (m *Main) auditCmd(ctx context.Context, args []string) error {
	fs := m.flags("audit --key VKEY [--server URL]",
		"ombud audit --server https://records.example.org --key log.pub",
		"ombud audit --key \"$(curl -s http://127.0.0.1:8080/log/key)\"")
	c := m.clientFlags(fs)
	key := fs.String("key", "", "the log's note verifier key, or a file holding it (required: never trust the server for it)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *key == "" {
		return usagef("audit: --key VKEY is required")
	}
	if err := c.ready(m, false); err != nil {
		return err
	}
	v, err := loadVerifier(*key)
	if err != nil {
		return err
	}
	u, err := url.Parse(c.server + "/log/")
	if err != nil {
		return err
	}
	f, err := tclient.NewHTTPFetcher(u, c.http)
	if err != nil {
		return err
	}
	res, err := audit.VerifyLog(ctx, f, v)
	if res != nil {
		for _, fd := range res.Findings {
			fmt.Fprintf(m.Stdout, "FAIL  %-24s %s\n", fd.Where, fd.Message)
		}
	}
	if errors.Is(err, audit.ErrUnverified) {
		return verifyError{fmt.Errorf("log %s does not verify: %d findings", v.Name(), len(res.Findings))}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "OK: log %s, checkpoint size %d: signature, %d entries and %d tiles verified\n", res.Checkpoint.Origin, res.Checkpoint.Size, res.Entries, res.Tiles)
	return nil
}
