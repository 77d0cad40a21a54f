package main

import (
	"context"
	"fmt"
)

func (m *Main) reportCmd(ctx context.Context, args []string) error {
	if done, err := m.subcommand(args, "report", "publish", "Usage: ombud report publish --period PERIOD\n\nPERIOD is a month (2026-11), a quarter (2026-Q4), a year (2026) or days (2026-11-01..2026-11-15).\n\nExample:\n  ombud report publish --period 2026-11\n"); done {
		return err
	}
	fs := m.flags("report publish --period PERIOD", "ombud report publish --period 2026-11", "ombud report publish --period 2026-11-01..2026-11-15")
	c := m.clientFlags(fs)
	period := fs.String("period", "", "a month (2026-11), a quarter (2026-Q4), a year (2026) or days (2026-11-01..2026-11-15)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *period == "" {
		return usagef("report publish: --period is required")
	}
	if err := c.ready(m, true); err != nil {
		return err
	}
	var out struct {
		Period         string `json:"period"`
		CheckpointSize uint64 `json:"checkpoint_size"`
		SHA256         string `json:"report_sha256"`
		Receipt        uint64 `json:"receipt"`
		URL            string `json:"url"`
	}
	if err := c.do(ctx, "POST", "/v1/reports", map[string]string{"period": *period}, &out); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Published the report for %s, computed at %d entries (SHA-256 %s, log entry %d):\n  %s%s\n",
		out.Period, out.CheckpointSize, out.SHA256, out.Receipt, c.server, out.URL)
	return nil
}
