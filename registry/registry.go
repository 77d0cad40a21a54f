// Package registry keeps the public registry of the analytic systems that
// may read data in bulk under authority: each system with its vendor,
// task, the data classes it may process, its versions with their published
// accuracy, its impact assessment and its contract. Every change to the
// registry goes through the one pattern and is logged as an analytic
// entry; the registry is public (the /systems page).
package registry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
)

// Store is what analytics reads of the metadata store: the registry
// changes only through the journal. store.Store satisfies it.
type Store interface {
	// AnalyticSystem returns a system by id; ombud.ErrNotFound if there is
	// none.
	AnalyticSystem(ctx context.Context, id string) (*ombud.AnalyticSystem, error)
	// ContractReleases returns the releases of a registered contract;
	// ombud.ErrNotFound if it is not registered.
	ContractReleases(ctx context.Context, ocid string) ([]*ombud.Contract, error)
}

// Config is what an analytics service is built from (New). Store and
// Journal are required.
type Config struct {
	Store   Store
	Journal *journal.Journal
	// Classes are the deployment's data classes, by name.
	Classes map[string]ombud.Class
	Now     func() time.Time
	// Gate, when set, holds a system version's gate alone and returns its
	// release (custody.Gates.VersionExclusive): a retirement is logged
	// under it, so that the reads of the version's runs are ordered
	// against it as reads are against a revocation.
	Gate func(ctx context.Context, system, version string) (release func(), err error)
}

// Service registers analytic systems. Build it with New.
type Service struct {
	Config
}

// New checks c and returns the service it describes.
func New(c Config) (*Service, error) {
	switch {
	case c.Store == nil:
		return nil, errors.New("registry: no metadata store")
	case c.Journal == nil:
		return nil, errors.New("registry: no journal")
	}
	return &Service{Config: c}, nil
}

// System is a request to register a system with its first version.
type System struct {
	Name             string
	Vendor           string
	Task             string
	Classes          []string
	ImpactAssessment string
	// Contract is the ocid of the registered contract the system was
	// bought under.
	Contract string
	Version  Version
}

// Version is a request to register a version.
type Version struct {
	Version  string
	Model    string
	Accuracy ombud.Accuracy
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Millisecond)
	}
	return time.Now().UTC().Truncate(time.Millisecond)
}

func invalid(format string, a ...any) error { return ombud.Errorf(ombud.CodeInvalid, format, a...) }

// code checks a public value: a code (entry.IsCode) of at most 64 bytes.
func code(what, v string, required bool) error {
	switch {
	case v == "" && required:
		return invalid("%s is required", what)
	case v != "" && (!entry.IsCode(v) || len(v) > 64 || strings.Contains(v, "@")):
		// No @: the registry is public, and a value with one reads as
		// an e-mail address, a person's.
		return invalid("%s must be a code: 1 to 64 of A-Z a-z 0-9 . _ : + / = - (it is public)", what)
	}
	return ombud.CheckPublicValue(what, v)
}

func (s *Service) checkVersion(task string, v Version) error {
	if err := code("version", v.Version, true); err != nil {
		return err
	}
	if err := code("model", v.Model, true); err != nil {
		return err
	}
	a := v.Accuracy
	for name, x := range map[string]float64{"fmr": a.FMR, "fnmr": a.FNMR, "fpir": a.FPIR, "fnir": a.FNIR} {
		if math.IsNaN(x) || x < 0 || x > 1 {
			return invalid("accuracy.%s must be a rate from 0 to 1", name)
		}
	}
	if math.IsNaN(a.Threshold) || math.IsInf(a.Threshold, 0) {
		return invalid("accuracy.threshold must be a number")
	}
	if err := code("accuracy.source", a.Source, false); err != nil {
		return err
	}
	if ombud.IsBiometricTask(task) {
		switch {
		case task == "face_verification" && (a.FMR == 0 && a.FNMR == 0):
			return invalid("a face verification system publishes its accuracy as accuracy.fmr and accuracy.fnmr at accuracy.threshold")
		case (task == "face_identification" || task == "face_investigation") && (a.FPIR == 0 && a.FNIR == 0):
			return invalid("a face identification system publishes its accuracy as accuracy.fpir and accuracy.fnir at accuracy.threshold")
		case a.Source == "":
			return invalid("accuracy.source: name the report the accuracy comes from, such as an NIST FRTE report")
		}
	}
	return nil
}

// Register registers a system with its first version, through the one
// pattern. A name is registered once.
func (s *Service) Register(ctx context.Context, r System, by string) (*ombud.AnalyticSystem, journal.Leaf, error) {
	for _, c := range []struct {
		what, v  string
		required bool
	}{{"name", r.Name, true}, {"vendor", r.Vendor, true}, {"contract", r.Contract, false}, {"impact_assessment", r.ImpactAssessment, false}} {
		if err := code(c.what, c.v, c.required); err != nil {
			return nil, journal.Leaf{}, err
		}
	}
	if !slices.Contains(ombud.Tasks, r.Task) {
		return nil, journal.Leaf{}, invalid("task must be one of %s", strings.Join(ombud.Tasks, ", "))
	}
	if r.Contract != "" {
		// A contract, once registered, stays: the check needs no
		// reservation.
		_, err := s.Store.ContractReleases(ctx, r.Contract)
		if errors.Is(err, ombud.ErrNotFound) {
			return nil, journal.Leaf{}, &ombud.Error{Code: ombud.CodeInvalid, Reason: "contract_not_registered",
				Message: fmt.Sprintf("contract: %s is not a registered contract's ocid; register the contract first (ombud contracts add FILE), or leave contract out", r.Contract)}
		}
		if err != nil {
			return nil, journal.Leaf{}, err
		}
	}
	if ombud.IsBiometricTask(r.Task) && r.ImpactAssessment == "" {
		return nil, journal.Leaf{}, invalid("impact_assessment: a biometric system needs a fundamental-rights impact assessment (EU AI Act Art. 27); give its reference")
	}
	if len(r.Classes) == 0 || len(r.Classes) > 16 {
		return nil, journal.Leaf{}, invalid("classes: name 1 to 16 data classes the system may process")
	}
	for _, c := range r.Classes {
		if _, ok := s.Classes[c]; !ok {
			return nil, journal.Leaf{}, invalid("classes: %q is not a data class of this deployment", c)
		}
	}
	if err := s.checkVersion(r.Task, r.Version); err != nil {
		return nil, journal.Leaf{}, err
	}
	now := s.now()
	sys := &ombud.AnalyticSystem{ID: ombud.NewID(), Name: r.Name, Vendor: r.Vendor, Task: r.Task, Classes: slices.Clone(r.Classes),
		ImpactAssessment: r.ImpactAssessment, Contract: r.Contract, Registered: now,
		Versions: []*ombud.SystemVersion{{Version: r.Version.Version, Model: r.Version.Model, Accuracy: r.Version.Accuracy, Registered: now}}}
	c, err := journal.SystemRegister.Change(r.Name, journal.SystemPayload{System: sys})
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	a := r.Version.Accuracy
	w, err := s.Journal.Apply(ctx, c, journal.Record{Body: entry.Analytic{Op: entry.OpRegister, Name: r.Name, Vendor: r.Vendor, Task: r.Task, Classes: sys.Classes,
		Model: r.Version.Model, ModelVersion: r.Version.Version, FMR: a.FMR, FNMR: a.FNMR, FPIR: a.FPIR, FNIR: a.FNIR, Threshold: a.Threshold,
		AccuracySource: a.Source, ImpactAssessment: r.ImpactAssessment, Contract: r.Contract, System: sys.ID, By: by}}, nil)
	if errors.Is(err, ombud.ErrExists) {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeConflict, "a system named %q is registered already", r.Name)
	}
	if err != nil {
		return nil, w, err
	}
	sys.Index, sys.Versions[0].Index = w.Index, w.Index
	return sys, w, nil
}

// AddVersion registers a further version of a system.
func (s *Service) AddVersion(ctx context.Context, system string, v Version, by string) (*ombud.SystemVersion, journal.Leaf, error) {
	sys, err := s.Store.AnalyticSystem(ctx, system)
	if errors.Is(err, ombud.ErrNotFound) {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeNotFound, "no system %q", system)
	}
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	if err := s.checkVersion(sys.Task, v); err != nil {
		return nil, journal.Leaf{}, err
	}
	sv := &ombud.SystemVersion{Version: v.Version, Model: v.Model, Accuracy: v.Accuracy, Registered: s.now()}
	c, err := journal.SystemVersion.Change(journal.Pair(sys.ID, v.Version), journal.VersionPayload{System: sys.ID, Version: sv})
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	a := v.Accuracy
	w, err := s.Journal.Apply(ctx, c, journal.Record{Body: entry.Analytic{Op: entry.OpVersion, Name: sys.Name, Model: v.Model, ModelVersion: v.Version,
		FMR: a.FMR, FNMR: a.FNMR, FPIR: a.FPIR, FNIR: a.FNIR, Threshold: a.Threshold, AccuracySource: a.Source, System: sys.ID, By: by}}, nil)
	if errors.Is(err, ombud.ErrExists) {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeConflict, "version %q of %s is registered already", v.Version, sys.Name)
	}
	if err != nil {
		return nil, w, err
	}
	sv.Index = w.Index
	return sv, w, nil
}

// Retire retires a version: no run may start with it from then on, and
// the runs of it still open read nothing more (each read is a denial,
// version_retired).
func (s *Service) Retire(ctx context.Context, system, version, by string) (journal.Leaf, error) {
	sys, err := s.Store.AnalyticSystem(ctx, system)
	if errors.Is(err, ombud.ErrNotFound) {
		return journal.Leaf{}, ombud.Errorf(ombud.CodeNotFound, "no system %q", system)
	}
	if err != nil {
		return journal.Leaf{}, err
	}
	if sys.Version(version) == nil {
		return journal.Leaf{}, ombud.Errorf(ombud.CodeNotFound, "%s has no version %q", sys.Name, version)
	}
	c, err := journal.SystemRetire.Change(journal.Pair(sys.ID, version),
		journal.VersionPayload{System: sys.ID, Version: &ombud.SystemVersion{Version: version}, At: s.now()})
	if err != nil {
		return journal.Leaf{}, err
	}
	if s.Gate != nil {
		release, err := s.Gate(ctx, sys.ID, version)
		if err != nil {
			return journal.Leaf{}, err
		}
		defer release()
	}
	w, err := s.Journal.Apply(ctx, c, journal.Record{Body: entry.Analytic{Op: entry.OpRetire, Name: sys.Name, ModelVersion: version, System: sys.ID, By: by}}, nil)
	switch {
	case errors.Is(err, ombud.ErrRetired):
		return journal.Leaf{}, ombud.Errorf(ombud.CodeConflict, "version %q of %s is retired already", version, sys.Name)
	case errors.Is(err, ombud.ErrNotFound):
		return journal.Leaf{}, ombud.Errorf(ombud.CodeNotFound, "%s has no version %q", sys.Name, version)
	}
	return w, err
}
