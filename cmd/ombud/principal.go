package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/client"
)

func principalCommands() []command {
	return []command{{name: "principal add", usage: "--name NAME --role ROLE [--role ROLE …] [--system ID]", need: []string{"name", "role"},
		summary: "create a principal and print its API token, shown once (a machine: --role system --system ID)",
		example: "ombud principal add --name 'Ada (analyst, unit 4)' --role analyst --role reviewer",
		setup: func(m *Main, fs *flag.FlagSet) action {
			name := fs.String("name", "", "the principal's name (kept private: only its commitment is logged)")
			var roles listFlag
			fs.Var(&roles, "role", "role to grant: "+roleList()+" (repeatable; system alone, with --system)")
			system := fs.String("system", "", "with --role system: the registered analytic system the principal acts for (ombud system list)")
			return m.remote(fs, func(ctx context.Context, c *client.Client, _ []string) error {
				rs := make([]ombud.Role, len(roles))
				for i, r := range roles {
					rs[i] = ombud.Role(r)
				}
				if (*system != "") != slices.Contains(rs, ombud.RoleSystem) {
					return usagef("principal add: --role system and --system ID go together: a machine acts for one registered system")
				}
				p, err := c.CreatePrincipal(ctx, apiv1.CreatePrincipal{Name: *name, Roles: rs, System: *system})
				if err != nil {
					return err
				}
				if *system != "" {
					fmt.Fprintf(m.Stdout, "Created principal %s with role system, acting for system %s (log entry %d).\n", p.ID, *system, *p.Receipt)
				} else {
					fmt.Fprintf(m.Stdout, "Created principal %s with roles %s (log entry %d).\n", p.ID, roles.String(), *p.Receipt)
				}
				fmt.Fprintf(m.Stdout, "API token, shown once:\n%s\n", p.Token)
				return nil
			})
		},
	}, {name: "principal list",
		summary: "list the principals and their state",
		example: "ombud principal list --server http://127.0.0.1:8080",
		setup: func(m *Main, fs *flag.FlagSet) action {
			return m.remote(fs, func(ctx context.Context, c *client.Client, _ []string) error {
				ps, err := c.Principals(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(m.Stdout, "%-16s  %-8s  %-30s  %s\n", "ID", "STATE", "ROLES", "NAME")
				for _, p := range ps {
					state := "active"
					switch {
					case p.Disabled:
						state = "disabled"
					case p.EmergencySuspended != 0:
						state = "no-emerg" // emergency access suspended after a breach
					}
					rs := make([]string, len(p.Roles))
					for i, r := range p.Roles {
						rs[i] = string(r)
					}
					fmt.Fprintf(m.Stdout, "%-16s  %-8s  %-30s  %s\n", p.ID, state, strings.Join(rs, ","), p.Name)
				}
				return nil
			})
		},
	}, {name: "principal disable", usage: "ID", args: [2]int{1, 1},
		summary: "disable a principal: its token stops working",
		example: "ombud principal disable k3x9q2m7a1b4c5d6",
		setup: func(m *Main, fs *flag.FlagSet) action {
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				out, err := c.DisablePrincipal(ctx, args[0])
				return m.done(err, "Disabled principal %s (log entry %d).\n", args[0], out.Receipt)
			})
		},
	}, {name: "principal restore-emergency", usage: "ID", args: [2]int{1, 1},
		summary: "give back a principal's emergency access, suspended after a breach",
		example: "ombud principal restore-emergency k3x9q2m7a1b4c5d6",
		setup: func(m *Main, fs *flag.FlagSet) action {
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				out, err := c.RestoreEmergency(ctx, args[0])
				return m.done(err, "Restored the emergency access of principal %s (log entry %d).\n", args[0], out.Receipt)
			})
		},
	}, {name: "attest", usage: "READ --note TEXT", args: [2]int{1, 1}, need: []string{"note"},
		summary: "record that the data derived from an uncovered emergency read was deleted",
		example: "ombud attest 4711 --note 'copies on the case share deleted by J. Doe, 2026-12-02'",
		setup: func(m *Main, fs *flag.FlagSet) action {
			connect := m.connect(fs, true)
			note := fs.String("note", "", "what was deleted, where, by whom (kept private, in the detail record)")
			return func(ctx context.Context, args []string) error {
				index, err := strconv.ParseUint(args[0], 10, 64)
				if err != nil {
					return usagef("attest: READ is the emergency read's log entry, a number")
				}
				c, err := connect()
				if err != nil {
					return err
				}
				out, err := c.Attest(ctx, index, apiv1.Attest{Note: *note})
				return m.done(err, "Attested the deletion of the data derived from emergency read %d (log entry %d).\n", index, out.Receipt)
			}
		},
	}}
}

// roleList names the roles a principal may have: admin, ingestor, ….
func roleList() string {
	names := make([]string, len(ombud.Roles))
	for i, r := range ombud.Roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}
