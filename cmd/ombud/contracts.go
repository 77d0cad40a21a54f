package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ombud/ombud/client"
	"github.com/ombud/ombud/contracts"
)

// readContractFile reads an OCDS release or release package, at most as
// many bytes as one registration takes.
func readContractFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, contracts.MaxImportBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > contracts.MaxImportBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes: split the package", path, contracts.MaxImportBytes)
	}
	return b, nil
}

func contractCommands() []command {
	return []command{{name: "contracts add", usage: "FILE", args: [2]int{1, 1},
		summary: "register an OCDS release, or every release of a release package, in the public registry of procurement contracts: all of it or none",
		example: "ombud contracts add contracts.json",
		setup: func(m *Main, fs *flag.FlagSet) action {
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				raw, err := readContractFile(args[0])
				if err != nil {
					return err
				}
				out, err := c.ImportContracts(ctx, raw)
				if err != nil {
					return err
				}
				for _, k := range out.Contracts {
					fmt.Fprintf(m.Stdout, "Registered %s (log entry %d, release %s).\n", k.OCID, k.Receipt, k.SHA256)
				}
				return m.done(nil, "Imported %d contract(s) at once (log entry %d closes the import).\n", len(out.Contracts), out.Receipt)
			})
		},
	}, {name: "contracts amend", usage: "OCID FILE", args: [2]int{2, 2},
		summary: "record a later release of a registered contract (a new release id, dated no earlier than the last), such as an exception to a safeguard clause with its rationale",
		example: "ombud contracts amend ocds-ombud01-2026-0007 amendment.json",
		setup: func(m *Main, fs *flag.FlagSet) action {
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				raw, err := readContractFile(args[1])
				if err != nil {
					return err
				}
				out, err := c.AmendContract(ctx, args[0], raw)
				return m.done(err, "Recorded release %d of %s (log entry %d, release %s).\n", out.Release, out.OCID, out.Receipt, out.SHA256)
			})
		},
	}, {name: "contracts check", usage: "FILE", args: [2]int{1, 1},
		summary: "check an OCDS release or release package against the registry's schema and rules, offline, and print every problem at its field",
		example: "ombud contracts check contracts.json",
		setup: func(m *Main, fs *flag.FlagSet) action {
			return func(ctx context.Context, args []string) error {
				raw, err := readContractFile(args[0])
				if err != nil {
					return err
				}
				n, err := contracts.Check(raw)
				var ie *contracts.InvalidError
				if errors.As(err, &ie) {
					for _, p := range ie.Problems {
						fmt.Fprintf(m.Stdout, "%s: %s\n", p.Path, p.Message)
					}
					return checkFailed{fmt.Errorf("%s: %d problem(s)", args[0], len(ie.Problems))}
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(m.Stdout, "OK: %s holds %d valid release(s)\n", args[0], n)
				return nil
			}
		},
	}, {name: "contracts list", summary: "list the public registry of procurement contracts, with the safeguard clauses each lacks",
		example: "ombud contracts list --server http://127.0.0.1:8080",
		setup: func(m *Main, fs *flag.FlagSet) action {
			connect := m.connect(fs, false)
			return func(ctx context.Context, _ []string) error {
				c, err := connect()
				if err != nil {
					return err
				}
				list, err := c.Contracts(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(m.Stdout, "%-28s  %-32s  %-14s  %s\n", "OCID", "PATHWAY", "FLAGS", "UNEXPLAINED")
				for _, k := range list {
					path := append(append([]string{k.Vendor}, k.Intermediaries...), k.Buyer)
					fmt.Fprintf(m.Stdout, "%-28s  %-32s  %-14s  %s\n", k.OCID, strings.Join(path, " → "), strings.Join(k.ProductFlags, ","), strings.Join(k.Unexplained, ","))
				}
				return nil
			}
		},
	}}
}
