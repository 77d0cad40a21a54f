package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/ombud/ombud/apiv1"
)

func (m *Main) principalCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(m.Stderr, "Usage: ombud principal add|list|disable|restore-emergency [flags]\n\nExample:\n  OMBUD_TOKEN=$(tail -1 token.txt) ombud principal add --name 'Case team 4' --role analyst\n")
		if len(args) == 0 {
			return usagef("principal: missing subcommand (add, list, disable, restore-emergency)")
		}
		return nil
	}
	switch args[0] {
	case "add":
		return m.principalAdd(ctx, args[1:])
	case "list":
		return m.principalList(ctx, args[1:])
	case "disable":
		return m.principalDisable(ctx, args[1:])
	case "restore-emergency":
		return m.principalRestoreEmergency(ctx, args[1:])
	}
	return usagef("principal: unknown subcommand %q (add, list, disable, restore-emergency)", args[0])
}

type roleList []string

func (r *roleList) String() string     { return strings.Join(*r, ",") }
func (r *roleList) Set(v string) error { *r = append(*r, strings.Split(v, ",")...); return nil }

func (m *Main) principalAdd(ctx context.Context, args []string) error {
	fs := m.flags("principal add --name NAME --role ROLE [--role ROLE …]",
		"ombud principal add --name 'Ada (analyst, unit 4)' --role analyst --role reviewer",
		"ombud principal add --name 'Ada' --role analyst")
	c := m.clientFlags(fs)
	name := fs.String("name", "", "the principal's name (kept private: only its commitment is logged)")
	var roles roleList
	fs.Var(&roles, "role", "role to grant: admin, ingestor, analyst, reviewer, auditor (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" || len(roles) == 0 {
		return usagef("principal add: --name and at least one --role are required")
	}
	if err := c.ready(m, true); err != nil {
		return err
	}
	var out apiv1.Principal
	if err := c.do(ctx, "POST", "/v1/principals", map[string]any{"name": *name, "roles": roles}, &out); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Created principal %s with roles %s (log entry %d).\n", out.ID, roles.String(), *out.Receipt)
	fmt.Fprintf(m.Stdout, "API token, shown once:\n%s\n", out.Token)
	return nil
}

func (m *Main) principalList(ctx context.Context, args []string) error {
	fs := m.flags("principal list", "ombud principal list", "ombud principal list --server http://127.0.0.1:8080")
	c := m.clientFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := c.ready(m, true); err != nil {
		return err
	}
	var out struct {
		Principals []apiv1.Principal `json:"principals"`
	}
	if err := c.do(ctx, "GET", "/v1/principals", nil, &out); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "%-16s  %-8s  %-30s  %s\n", "ID", "STATE", "ROLES", "NAME")
	for _, p := range out.Principals {
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
}

func (m *Main) principalDisable(ctx context.Context, args []string) error {
	fs := m.flags("principal disable ID", "ombud principal disable k3x9q2m7a1b4c5d6", "ombud principal disable ID")
	c := m.clientFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("principal disable: give exactly one principal ID")
	}
	if err := c.ready(m, true); err != nil {
		return err
	}
	var out struct {
		Receipt uint64 `json:"receipt"`
	}
	if err := c.do(ctx, "DELETE", "/v1/principals/"+url.PathEscape(fs.Arg(0)), nil, &out); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Disabled principal %s (log entry %d).\n", fs.Arg(0), out.Receipt)
	return nil
}

func (m *Main) principalRestoreEmergency(ctx context.Context, args []string) error {
	fs := m.flags("principal restore-emergency ID", "ombud principal restore-emergency k3x9q2m7a1b4c5d6", "")
	c := m.clientFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("principal restore-emergency: give exactly one principal ID")
	}
	if err := c.ready(m, true); err != nil {
		return err
	}
	var out struct {
		Receipt uint64 `json:"receipt"`
	}
	if err := c.do(ctx, "POST", "/v1/principals/"+url.PathEscape(fs.Arg(0))+"/emergency/restore", nil, &out); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Restored the emergency access of principal %s (log entry %d).\n", fs.Arg(0), out.Receipt)
	return nil
}

// attestCmd records the controller's attestation that the data derived
// from an uncovered emergency read was deleted.
func (m *Main) attestCmd(ctx context.Context, args []string) error {
	fs := m.flags("attest READ --note TEXT",
		"ombud attest 4711 --note 'copies on the case share deleted by J. Doe, 2026-12-02'", "")
	c := m.clientFlags(fs)
	note := fs.String("note", "", "what was deleted, where, by whom (kept private, in the detail record)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *note == "" {
		return usagef("attest: give the emergency read's log entry and --note")
	}
	if err := c.ready(m, true); err != nil {
		return err
	}
	var out struct {
		Receipt uint64 `json:"receipt"`
	}
	if err := c.do(ctx, "POST", "/v1/emergencies/"+url.PathEscape(fs.Arg(0))+"/attest", map[string]any{"note": *note}, &out); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Attested the deletion of the data derived from emergency read %s (log entry %d).\n", fs.Arg(0), out.Receipt)
	return nil
}
