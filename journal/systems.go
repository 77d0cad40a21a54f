package journal

import (
	"slices"
	"time"

	"github.com/ombud/ombud"
)

// Operations on analytic systems, their runs, flags, reviews, actions and
// contests.
var (
	// SystemRegister registers a system with its first version; its
	// target is system:NAME.
	SystemRegister = Operation[SystemPayload]{Op: "system.register", Kind: "system",
		ID: func(p *SystemPayload) string {
			return idOf(p.System, func(s *ombud.AnalyticSystem) string { return s.Name })
		}}
	// SystemVersion registers a version; its target is
	// system-version:SYSTEM/VERSION.
	SystemVersion = Operation[VersionPayload]{Op: "system.version", Kind: "system-version",
		ID: func(p *VersionPayload) string {
			return idOf(p.Version, func(v *ombud.SystemVersion) string { return Pair(p.System, v.Version) })
		}}
	SystemRetire = Operation[VersionPayload]{Op: "system.retire", Kind: "system-version",
		ID: func(p *VersionPayload) string {
			return idOf(p.Version, func(v *ombud.SystemVersion) string { return Pair(p.System, v.Version) })
		}}
	RunStart = Operation[RunPayload]{Op: "run.start", Kind: "run",
		ID: func(p *RunPayload) string { return idOf(p.Run, func(r *ombud.Run) string { return r.ID }) }}
	RunClose   = Operation[RunClosePayload]{Op: "run.close", Kind: "run"}
	FlagCreate = Operation[FlagPayload]{Op: "flag.create", Kind: "flag",
		ID: func(p *FlagPayload) string { return idOf(p.Flag, func(f *ombud.Flag) string { return f.ID }) }}
	// FlagReview is one reviewer's review of a flag; its target is
	// review:FLAG/REVIEWER, one per reviewer and flag.
	FlagReview = Operation[ReviewPayload]{Op: "flag.review", Kind: "review",
		ID: func(p *ReviewPayload) string {
			return idOf(p.Review, func(r *ombud.Review) string { return Pair(r.Flag, r.Reviewer) })
		}}
	FlagAction = Operation[ActionPayload]{Op: "flag.action", Kind: "action",
		ID: func(p *ActionPayload) string { return idOf(p.Action, func(a *ombud.Action) string { return a.ID }) }}
	// ContestFile and ContestResolve share the contest's target, so that
	// a resolution waits for its filing.
	ContestFile = Operation[ContestPayload]{Op: "contest.file", Kind: "contest",
		ID: func(p *ContestPayload) string { return idOf(p.Contest, func(c *ombud.Contest) string { return c.ID }) }}
	ContestResolve = Operation[ContestPayload]{Op: "contest.resolve", Kind: "contest",
		ID: func(p *ContestPayload) string { return idOf(p.Contest, func(c *ombud.Contest) string { return c.ID }) }}
)

// systemOperations lists this file's operations, for Operations.
var systemOperations = []Named{
	SystemRegister, SystemVersion, SystemRetire, RunStart, RunClose,
	FlagCreate, FlagReview, FlagAction, ContestFile, ContestResolve,
}

// Pair is the target id of a thing named by two ids: a system's version,
// a reviewer's review of a flag.
func Pair(a, b string) string { return a + "/" + b }

type (
	// SystemPayload: SystemRegister, a system with its first version.
	SystemPayload struct{ System *ombud.AnalyticSystem }
	// VersionPayload: SystemVersion and SystemRetire (At, for a
	// retirement).
	VersionPayload struct {
		System  string
		Version *ombud.SystemVersion
		At      time.Time
	}
	// RunPayload: RunStart, the run and its object list in order.
	RunPayload struct {
		Run     *ombud.Run
		Objects []string
	}
	// RunClosePayload: RunClose.
	RunClosePayload struct {
		Reason string
		At     time.Time
		Read   int64
		Bytes  int64
	}
	// FlagPayload: FlagCreate.
	FlagPayload struct{ Flag *ombud.Flag }
	// ReviewPayload: FlagReview.
	ReviewPayload struct{ Review *ombud.Review }
	// ActionPayload: FlagAction, with the review counts it was decided
	// on: the store takes it only if they still hold.
	ActionPayload struct {
		Action                    *ombud.Action
		Confirmations, Rejections int64
	}
	// ContestPayload: ContestFile, ContestResolve (the contest with its
	// outcome).
	ContestPayload struct{ Contest *ombud.Contest }
)

// Operations lists every operation, in no particular order. A store's
// table of preconditions, commits and undos covers each. Each file of
// operations lists its own, so that a new operation is written in one
// place.
var Operations = slices.Concat(principalOperations, objectOperations, systemOperations, sharingOperations, quorumOperations, tipOperations, contractOperations)
