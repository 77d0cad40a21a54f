package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/client"
)

func quorumCommands() []command {
	show := func(m *Main, q *apiv1.Quorum) {
		if !q.Enabled {
			fmt.Fprintln(m.Stdout, "Quorum: off (the single-admin set-up mode): one admin does every privileged operation alone.")
			return
		}
		fmt.Fprintln(m.Stdout, "Quorum: on. Admins each privileged operation needs, its proposer counted:")
		for _, op := range ombud.PrivilegedOperations {
			fmt.Fprintf(m.Stdout, "  %-20s %d\n", op, q.Required[op])
		}
	}
	return []command{{name: "quorum", summary: "show the multi-party approval in force",
		example: "ombud quorum",
		setup: func(m *Main, fs *flag.FlagSet) action {
			return m.remote(fs, func(ctx context.Context, c *client.Client, _ []string) error {
				q, err := c.Quorum(ctx)
				if err != nil {
					return err
				}
				show(m, q)
				return nil
			})
		},
	}, {name: "quorum enable", usage: "[--require OPERATION:N …]",
		summary: "enable the quorum, or raise it (logged): from then on a privileged operation runs only on a proposal other admins approve",
		example: "ombud quorum enable --require policy.reload:3",
		setup: func(m *Main, fs *flag.FlagSet) action {
			var require multiFlag
			fs.Var(&require, "require", "OPERATION:N, the admins an operation needs (default 2 each; repeatable)")
			return m.remote(fs, func(ctx context.Context, c *client.Client, _ []string) error {
				q, err := c.SetQuorum(ctx, apiv1.SetQuorum{Enabled: true, Required: require})
				if err != nil {
					return err
				}
				fmt.Fprintf(m.Stdout, "Set the quorum (log entry %d).\n", q.Receipt)
				show(m, q)
				return nil
			})
		},
	}, {name: "propose", usage: "OPERATION [--target ID] [--params JSON | --params-file FILE]", args: [2]int{1, 1},
		summary: "propose a privileged operation with its direct request's body; prints the proposal's id last (another admin approves it with ombud approve)",
		example: "ombud propose issuer.register --params '{\"name\":\"court.example/district-4\",\"kind\":\"court\",\"jurisdiction\":\"EU-DE\",\"key\":\"…\"}'",
		setup: func(m *Main, fs *flag.FlagSet) action {
			target := fs.String("target", "", "what the operation changes, as its direct request's path names it (an object's, a principal's or a system's id)")
			params := fs.String("params", "", "the direct request's JSON body")
			paramsFile := fs.String("params-file", "", "a file holding the direct request's JSON body")
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				body := *params
				if *paramsFile != "" {
					if body != "" {
						return usagef("propose: give --params or --params-file, not both")
					}
					b, err := os.ReadFile(*paramsFile)
					if err != nil {
						return err
					}
					body = string(b)
				}
				in := apiv1.Propose{Operation: args[0], Target: *target}
				if strings.TrimSpace(body) != "" {
					if !json.Valid([]byte(body)) {
						return usagef("propose: the params are not JSON")
					}
					in.Params = json.RawMessage(body)
				}
				p, err := c.Propose(ctx, in)
				if err != nil {
					return err
				}
				printProposal(m, p)
				fmt.Fprintln(m.Stdout, p.ID)
				return nil
			})
		},
	}, {name: "proposals", usage: "[--state open|executed|refused|expired]",
		summary: "list the proposals of privileged operations, the newest first, with what each would change",
		example: "ombud proposals --state open",
		setup: func(m *Main, fs *flag.FlagSet) action {
			state := fs.String("state", "", "only the proposals in this state")
			return m.remote(fs, func(ctx context.Context, c *client.Client, _ []string) error {
				ps, err := c.Proposals(ctx, *state)
				if err != nil {
					return err
				}
				for i := range ps {
					printProposal(m, &ps[i])
				}
				return nil
			})
		},
	}, {name: "proposals run", usage: "PROPOSAL", args: [2]int{1, 1},
		summary: "run an approved proposal whose run was refused (a policy file changed since, say) once the cause is fixed",
		example: "ombud proposals run q8z3x5r7t2m9k4w1",
		setup: func(m *Main, fs *flag.FlagSet) action {
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				p, err := c.RunProposal(ctx, args[0])
				if err != nil {
					return err
				}
				printProposal(m, p)
				return ranOrRefused(m, p)
			})
		},
	}, {name: "approve", usage: "PROPOSAL", args: [2]int{1, 1},
		summary: "approve another admin's proposal (logged); the approval that reaches the quorum runs the operation",
		example: "ombud approve q8z3x5r7t2m9k4w1",
		setup:   voteCommand(true),
	}, {name: "refuse", usage: "PROPOSAL", args: [2]int{1, 1},
		summary: "refuse another admin's proposal (logged): it is closed for good",
		example: "ombud refuse q8z3x5r7t2m9k4w1",
		setup:   voteCommand(false),
	}}
}

func voteCommand(approve bool) func(m *Main, fs *flag.FlagSet) action {
	return func(m *Main, fs *flag.FlagSet) action {
		return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
			p, err := c.Vote(ctx, args[0], approve)
			if err != nil {
				return err
			}
			printProposal(m, p)
			return ranOrRefused(m, p)
		})
	}
}

// ranOrRefused says what an approved proposal's run answered: an error
// (exit 1) when the operation refused it.
func ranOrRefused(m *Main, p *apiv1.Proposal) error {
	x := p.Executed
	switch {
	case x == nil:
		return nil
	case x.Status >= 300:
		return fmt.Errorf("the quorum was reached, and %s answered %d: %s; the approvals stand until the proposal expires: fix the cause, then 'ombud proposals run %s'", p.Operation, x.Status, x.Answer, p.ID)
	}
	fmt.Fprintf(m.Stdout, "The quorum was reached: %s ran (status %d, log entry %d).\n", p.Operation, x.Status, x.Receipt)
	return nil
}

// printProposal shows a proposal whole: what it would change is what an
// approver must read before approving.
func printProposal(m *Main, p *apiv1.Proposal) {
	approvals := 0
	for _, v := range p.Votes {
		if v.Approve {
			approvals++
		}
	}
	fmt.Fprintf(m.Stdout, "Proposal %s: %s", p.ID, p.Operation)
	if p.Target != "" {
		fmt.Fprintf(m.Stdout, " on %s", p.Target)
	}
	fmt.Fprintf(m.Stdout, ", %s, by %s; %d of %d admins (the proposer counted); expires %s (log entry %d)\n",
		p.State, p.Proposer, 1+approvals, p.Needs, p.Expires.Format("2006-01-02 15:04 MST"), p.Receipt)
	fmt.Fprintf(m.Stdout, "  params: %s\n", p.Params)
	switch p.Operation {
	case ombud.OpIssuerRegister, ombud.OpSystemRegister, ombud.OpSystemVersion:
		fmt.Fprintln(m.Stdout, "  WARNING: its names, vendor, model, version and references are published in the public log for ever; approve only values that name no person.")
	}
}
