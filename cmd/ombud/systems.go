package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/client"
)

// accuracyFlags adds a version's accuracy flags to fs.
func accuracyFlags(fs *flag.FlagSet, a *apiv1.Accuracy) {
	fs.Float64Var(&a.FMR, "fmr", 0, "false match rate at the threshold (1:1)")
	fs.Float64Var(&a.FNMR, "fnmr", 0, "false non-match rate at the threshold (1:1)")
	fs.Float64Var(&a.FPIR, "fpir", 0, "false positive identification rate at the threshold (1:N)")
	fs.Float64Var(&a.FNIR, "fnir", 0, "false negative identification rate at the threshold (1:N)")
	fs.Float64Var(&a.Threshold, "threshold", 0, "the operating point's score threshold")
	fs.StringVar(&a.Source, "accuracy-source", "", "the report the accuracy comes from, as a code (such as nist-frte-1n-2026-10)")
}

func systemCommands() []command {
	return []command{{name: "system add", usage: "--name NAME --vendor V --task TASK --class C … --model M --version V [accuracy flags] [--impact-assessment REF] [--contract REF]",
		need:    []string{"name", "vendor", "task", "class", "model", "version"},
		summary: "register an analytic system with its first version in the public registry; prints the system's id last",
		example: "ombud system add --name vendor-x-frs --vendor vendor-x --task face_identification --class biometric --model facematch --version 4.2.1 --fpir 0.003 --fnir 0.021 --threshold 0.85 --accuracy-source nist-frte-1n-2026-10 --impact-assessment fria-2026-07",
		setup: func(m *Main, fs *flag.FlagSet) action {
			var in apiv1.RegisterSystem
			fs.StringVar(&in.Name, "name", "", "the system's name, as a code (public)")
			fs.StringVar(&in.Vendor, "vendor", "", "its vendor, as a code")
			fs.StringVar(&in.Task, "task", "", "face_identification, face_verification, plate_reading, object_detection, transcription, translation or other")
			var classes multiFlag
			fs.Var(&classes, "class", "a data class it may process (repeatable)")
			fs.StringVar(&in.Model, "model", "", "the model's name, as a code")
			fs.StringVar(&in.Version, "version", "", "the model version")
			accuracyFlags(fs, &in.Accuracy)
			fs.StringVar(&in.ImpactAssessment, "impact-assessment", "", "reference of its fundamental-rights impact assessment (required for biometric tasks)")
			fs.StringVar(&in.Contract, "contract", "", "the ocid of the registered contract it was bought under (ombud contracts list)")
			return m.remote(fs, func(ctx context.Context, c *client.Client, _ []string) error {
				in.Classes = classes
				out, err := c.RegisterSystem(ctx, in)
				return m.done(err, "Registered %s version %s as system %s (log entry %d).\n%s\n", in.Name, out.Version, out.ID, out.Receipt, out.ID)
			})
		},
	}, {name: "system version add", usage: "SYSTEM --model M --version V [accuracy flags]", args: [2]int{1, 1}, need: []string{"model", "version"},
		summary: "register a further version of an analytic system",
		example: "ombud system version add k3x9q2m7a1b4c5d6 --model facematch --version 5.0.0 --fpir 0.002 --fnir 0.015 --threshold 0.8 --accuracy-source nist-frte-1n-2026-11",
		setup: func(m *Main, fs *flag.FlagSet) action {
			var in apiv1.RegisterVersion
			fs.StringVar(&in.Model, "model", "", "the model's name, as a code")
			fs.StringVar(&in.Version, "version", "", "the model version")
			accuracyFlags(fs, &in.Accuracy)
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				out, err := c.RegisterVersion(ctx, args[0], in)
				return m.done(err, "Registered version %s of system %s (log entry %d).\n", out.Version, args[0], out.Receipt)
			})
		},
	}, {name: "system version retire", usage: "SYSTEM VERSION", args: [2]int{2, 2},
		summary: "retire a version: no run may use it from then on",
		example: "ombud system version retire k3x9q2m7a1b4c5d6 4.2.1",
		setup: func(m *Main, fs *flag.FlagSet) action {
			return m.remote(fs, func(ctx context.Context, c *client.Client, args []string) error {
				out, err := c.RetireVersion(ctx, args[0], args[1])
				return m.done(err, "Retired version %s of system %s (log entry %d).\n", args[1], args[0], out.Receipt)
			})
		},
	}, {name: "system list", summary: "list the public registry of analytic systems",
		example: "ombud system list --server http://127.0.0.1:8080",
		setup: func(m *Main, fs *flag.FlagSet) action {
			connect := m.connect(fs, false)
			return func(ctx context.Context, _ []string) error {
				c, err := connect()
				if err != nil {
					return err
				}
				systems, err := c.Systems(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(m.Stdout, "%-16s  %-20s  %-20s  %-12s  %s\n", "ID", "NAME", "TASK", "CLASSES", "VERSIONS")
				for _, s := range systems {
					var vs []string
					for _, v := range s.Versions {
						if v.Retired != nil {
							vs = append(vs, v.Version+" (retired)")
						} else {
							vs = append(vs, v.Version)
						}
					}
					fmt.Fprintf(m.Stdout, "%-16s  %-20s  %-20s  %-12s  %s\n", s.ID, s.Name, s.Task, strings.Join(s.Classes, ","), strings.Join(vs, ", "))
				}
				return nil
			}
		},
	}}
}
