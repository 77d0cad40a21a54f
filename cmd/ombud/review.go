package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/client"
)

// reviewCommands are the human review of automated matches: a run's
// system raises a flag, two reviewers confirm or reject it, an analyst
// acts on it, and a contest of the action is resolved by someone who
// took no part (docs/API.md, "Human review and redress").
func reviewCommands() []command {
	return []command{{name: "flag raise", usage: "RUN --input OBJECT … --candidate ID … --score S --threshold T --reference-db CODE --gallery-size N [--reference OBJECT …] [--rank N] [--operating-point CODE]",
		args: [2]int{1, 1}, need: []string{"input", "candidate", "reference-db"},
		summary: "raise a flag: a match a run's system made, for two people to review; prints the flag's id last",
		example: "ombud flag raise 9c2kq7w1x3b5n8m4 --input k3x9q2m7a1b4c5d6 --candidate person:42 --score 0.93 --threshold 0.85 --reference-db watchlist --gallery-size 120000",
		setup: func(m *Main, fs *flag.FlagSet) action {
			var in apiv1.CreateFlag
			var inputs, candidates, refs multiFlag
			fs.Var(&inputs, "input", "an object the run read that matched (repeatable)")
			fs.Var(&candidates, "candidate", "who or what it matched, as an identifier such as person:42 (repeatable; logged only as a keyed pseudonym)")
			fs.Var(&refs, "reference", "a candidate's reference image in custody, which the run read (repeatable)")
			fs.Int64Var(&in.Rank, "rank", 1, "the match's rank in the candidate list")
			fs.Float64Var(&in.Score, "score", 0, "the match's score")
			fs.Float64Var(&in.Threshold, "threshold", 0, "the threshold the score was compared with")
			fs.StringVar(&in.OperatingPoint, "operating-point", "", "the error rate the threshold was set for, as a code such as fpir-1e-3 (public)")
			fs.StringVar(&in.ReferenceDB, "reference-db", "", "the reference database searched, as a code (public)")
			fs.Int64Var(&in.GallerySize, "gallery-size", 0, "how many references it held")
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				in.Run, in.Inputs, in.Candidates, in.References = args[0], inputs, candidates, refs
				out, err := c.RaiseFlag(ctx, in)
				return m.done(err, "Raised flag %s on run %s for review (log entry %d).\n%s\n", out.ID, in.Run, out.Receipt, out.ID)
			})
		},
	}, {name: "flag list", usage: "[--ids]",
		summary: "list the flags awaiting your review, with the evidence you may view",
		example: "ombud flag list --server http://127.0.0.1:8080",
		setup: func(m *Main, fs *flag.FlagSet) action {
			ids := fs.Bool("ids", false, "print only the flags' ids, one a line")
			return m.remote(fs, func(ctx context.Context, c *client.Client, _ []string) error {
				flags, err := c.AwaitingFlags(ctx)
				if err != nil {
					return err
				}
				if *ids {
					for _, f := range flags {
						fmt.Fprintln(m.Stdout, f.ID)
					}
					return nil
				}
				if len(flags) == 0 {
					fmt.Fprintln(m.Stdout, "No flags await your review.")
					return nil
				}
				// No reviews so far are shown: each review is made blind
				// to the others.
				fmt.Fprintf(m.Stdout, "%-16s  %-16s  %-10s  %-13s  %-20s  %s\n", "FLAG", "SYSTEM", "VERSION", "SCORE/THRESH", "RAISED", "EVIDENCE (ombud get OBJECT --purpose review --flag FLAG)")
				for _, f := range flags {
					fmt.Fprintf(m.Stdout, "%-16s  %-16s  %-10s  %-13s  %-20s  %s\n", f.ID, f.System, f.Version, fmt.Sprintf("%.3g/%.3g", f.Score, f.Threshold),
						f.Created.UTC().Format(time.DateTime), evidence(f))
				}
				return nil
			})
		},
	}, {name: "review", usage: "FLAG (--confirm | --reject) --rationale TEXT", args: [2]int{1, 1}, need: []string{"rationale"},
		summary: "confirm or reject a flag after viewing its evidence; the rationale stays in the private detail record",
		example: "ombud review f7q2m9x3k1b4c5d6 --confirm --rationale 'the plate and the car agree in every character'",
		setup: func(m *Main, fs *flag.FlagSet) action {
			confirm := fs.Bool("confirm", false, "the match is right")
			reject := fs.Bool("reject", false, "the match is wrong")
			rationale := fs.String("rationale", "", "why (kept private, in the detail record)")
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				if *confirm == *reject {
					return usagef("review: give one of --confirm or --reject")
				}
				verdict := "confirm"
				if *reject {
					verdict = "reject"
				}
				out, err := c.ReviewFlag(ctx, args[0], apiv1.ReviewFlag{Verdict: verdict, Rationale: *rationale})
				return m.done(err, "Recorded your review of flag %s: %s (log entry %d).\n", args[0], out.Verdict, out.Receipt)
			})
		},
	}, {name: "act", usage: "FLAG --kind KIND [--notice FILE]", args: [2]int{1, 1}, need: []string{"kind"},
		summary: "take an action on a flag two reviewers confirmed; prints the notice code for the person affected, shown once, and saves their notice",
		example: "ombud act f7q2m9x3k1b4c5d6 --kind questioning --notice notice.txt",
		setup: func(m *Main, fs *flag.FlagSet) action {
			kind := fs.String("kind", "", "the action: "+strings.Join(ombud.ActionKinds, ", "))
			file := fs.String("notice", "", "save the notice to hand to the person affected (plain text, with the code) to this new file")
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				if *file != "" {
					// Refused before the action: its notice is told only once.
					if _, err := os.Lstat(*file); err == nil {
						return usagef("act: %s exists; name a new file for the notice", *file)
					}
				}
				out, err := c.TakeAction(ctx, apiv1.TakeAction{Flag: args[0], Kind: *kind})
				if err != nil {
					return err
				}
				fmt.Fprintf(m.Stdout, "Took action %s (%s) on flag %s (log entry %d).\n", out.ID, *kind, args[0], out.Receipt)
				if out.Notice == "" {
					fmt.Fprintln(m.Stdout, "No notice: no_action affects no one.")
					return nil
				}
				where := strings.TrimRight(c.Server(), "/") + "/contest"
				switch {
				case *file != "" && out.NoticeText != "":
					if err := os.WriteFile(*file, []byte(out.NoticeText), 0o600); err != nil {
						fmt.Fprintf(m.Stderr, "The notice could not be saved (%v); print it at %s with the code.\n", err, where)
					} else {
						fmt.Fprintf(m.Stdout, "The notice to hand to the person affected is in %s.\n", *file)
					}
				default:
					fmt.Fprintf(m.Stdout, "Print the notice to hand to them at %s with the code (or give --notice FILE next time).\n", where)
				}
				fmt.Fprintf(m.Stdout, "They see the decision, and can contest it, at %s with this code. Notice code, shown once; only its hash is stored:\n%s\n", where, out.Notice)
				return nil
			})
		},
	}, {name: "actions", usage: "[ACTION]",
		args:    [2]int{0, 1},
		summary: "list the actions you took, each standing or withdrawn by an overturned contest, with its contest and deadline; or show one",
		example: "ombud actions",
		setup: func(m *Main, fs *flag.FlagSet) action {
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				var as []apiv1.Action
				if len(args) == 1 {
					a, err := c.Action(ctx, args[0])
					if err != nil {
						return err
					}
					as = []apiv1.Action{*a}
				} else {
					var err error
					if as, err = c.Actions(ctx); err != nil {
						return err
					}
				}
				if len(as) == 0 {
					fmt.Fprintln(m.Stdout, "You took no actions.")
					return nil
				}
				for _, a := range as {
					fmt.Fprintln(m.Stdout, actionLine(a))
				}
				return nil
			})
		},
	}, {name: "contest list", usage: "[--ids]",
		summary: "list the contests awaiting resolution, with the person's statement where you may resolve them",
		example: "ombud contest list --server http://127.0.0.1:8080",
		setup: func(m *Main, fs *flag.FlagSet) action {
			ids := fs.Bool("ids", false, "print only the ids of the contests you may resolve, one a line")
			return m.remote(fs, func(ctx context.Context, c *client.Client, _ []string) error {
				cs, err := c.OpenContests(ctx)
				if err != nil {
					return err
				}
				if *ids {
					for _, ct := range cs {
						if !ct.Involved {
							fmt.Fprintln(m.Stdout, ct.ID)
						}
					}
					return nil
				}
				if len(cs) == 0 {
					fmt.Fprintln(m.Stdout, "No contests await resolution.")
					return nil
				}
				for _, ct := range cs {
					who := "you may resolve it"
					if ct.Involved {
						who = "you took part in the decision: someone else resolves it"
					}
					fmt.Fprintf(m.Stdout, "Contest %s of action %s (%s) on flag %s, filed %s (log entry %d); %s.\n", ct.ID, ct.Action, ct.ActionKind, ct.Flag,
						ct.Filed.UTC().Format(time.DateTime), ct.Receipt, who)
					if ct.Statement != "" {
						fmt.Fprintf(m.Stdout, "  Statement: %q\n", ct.Statement)
					}
				}
				return nil
			})
		},
	}, {name: "contest resolve", usage: "CONTEST (--uphold | --overturn) --rationale TEXT", args: [2]int{1, 1}, need: []string{"rationale"},
		summary: "resolve a contest, as a reviewer who took no part in the decision: uphold the action or overturn it",
		example: "ombud contest resolve c4n8m2q7x1k3b5d6 --overturn --rationale 'the plate was misread: B-XY-128, not B-XY-123'",
		setup: func(m *Main, fs *flag.FlagSet) action {
			uphold := fs.Bool("uphold", false, "the action stands")
			overturn := fs.Bool("overturn", false, "the action was wrong")
			rationale := fs.String("rationale", "", "why (kept private, in the detail record)")
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				if *uphold == *overturn {
					return usagef("contest resolve: give one of --uphold or --overturn")
				}
				outcome := "upheld"
				if *overturn {
					outcome = "overturned"
				}
				out, err := c.ResolveContest(ctx, args[0], apiv1.ResolveContest{Outcome: outcome, Rationale: *rationale})
				return m.done(err, "Resolved contest %s: the action was %s (log entry %d).\n", args[0], out.Outcome, out.Receipt)
			})
		},
	}}
}

// actionLine says an action's state in one line: a withdrawn one first.
func actionLine(a apiv1.Action) string {
	var b strings.Builder
	if a.Status == apiv1.ActionWithdrawn && a.WithdrawnAt != nil {
		fmt.Fprintf(&b, "WITHDRAWN %s (log entry %d): ", a.WithdrawnAt.UTC().Format(time.DateTime), a.WithdrawnReceipt)
	}
	fmt.Fprintf(&b, "action %s (%s) on flag %s, taken %s (log entry %d)", a.ID, a.Kind, a.Flag, a.Created.UTC().Format(time.DateTime), a.Receipt)
	if ct := a.Contest; ct != nil {
		switch {
		case ct.Outcome != "":
			fmt.Fprintf(&b, "; contest %s %s", ct.ID, ct.Outcome)
		case ct.Overdue:
			fmt.Fprintf(&b, "; contest %s OVERDUE since %s", ct.ID, ct.Due.UTC().Format(time.DateTime))
		case ct.Due != nil:
			fmt.Fprintf(&b, "; contest %s open, to be decided by %s", ct.ID, ct.Due.UTC().Format(time.DateTime))
		default:
			fmt.Fprintf(&b, "; contest %s open", ct.ID)
		}
	}
	return b.String()
}

// evidence lists a flag's inputs and reference images for the listing.
func evidence(f apiv1.Flag) string {
	s := "inputs " + strings.Join(f.Inputs, ",")
	if len(f.References) > 0 {
		s += "; references " + strings.Join(f.References, ",")
	}
	return s
}
