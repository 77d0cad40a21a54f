package ombud

import (
	"fmt"
	"regexp"
	"time"
)

// Sensitivity says whether reading a class needs a legal authorization.
type Sensitivity string

const (
	Sensitive Sensitivity = "sensitive"
	Ordinary  Sensitivity = "ordinary"
)

// ExportRule says how a class may leave ombud (docs/INVARIANTS.md, I7).
type ExportRule string

const (
	// ExportDeny: never exported.
	ExportDeny ExportRule = "deny"
	// ExportScoped: only under an authorization whose sharing scope names
	// the recipient.
	ExportScoped ExportRule = "scoped"
	// ExportAllow: exported to a registered recipient, logged.
	ExportAllow ExportRule = "allow"
)

// Class is a data class: what kind of record, how long it is kept, how it
// may leave and where it must stay.
type Class struct {
	Name        string        `toml:"name"`
	Sensitivity Sensitivity   `toml:"sensitivity"`
	Retention   time.Duration `toml:"-"`
	Export      ExportRule    `toml:"export"`
	Region      string        `toml:"region"` // residency; "" = anywhere
}

// IsSensitive reports whether the class needs an authorization to read.
func (c Class) IsSensitive() bool { return c.Sensitivity == Sensitive }

// DefaultClasses are the classes a new deployment ships with. Retention
// follows common statutory ceilings: biometric and location data are kept
// briefly, documents longest.
func DefaultClasses() []Class {
	day := 24 * time.Hour
	return []Class{
		{Name: "biometric", Sensitivity: Sensitive, Retention: 30 * day, Export: ExportScoped},
		{Name: "location", Sensitivity: Sensitive, Retention: 90 * day, Export: ExportScoped},
		{Name: "communications", Sensitivity: Sensitive, Retention: 180 * day, Export: ExportScoped},
		{Name: "media", Sensitivity: Sensitive, Retention: 90 * day, Export: ExportScoped},
		{Name: "document", Sensitivity: Ordinary, Retention: 6 * 365 * day, Export: ExportAllow},
		{Name: "general", Sensitivity: Ordinary, Retention: 365 * day, Export: ExportAllow},
	}
}

var classNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
var regionRE = regexp.MustCompile(`^[a-z0-9-]{0,32}$`)

// Validate checks a class definition.
func (c Class) Validate() error {
	if !classNameRE.MatchString(c.Name) {
		return fmt.Errorf("class %q: name must be 1-32 of a-z 0-9 _ - starting with a letter", c.Name)
	}
	if c.Sensitivity != Sensitive && c.Sensitivity != Ordinary {
		return fmt.Errorf("class %s: sensitivity must be sensitive or ordinary", c.Name)
	}
	if c.Retention < time.Hour || c.Retention > 100*365*24*time.Hour {
		return fmt.Errorf("class %s: retention must be between 1h and 100 years", c.Name)
	}
	switch c.Export {
	case ExportDeny, ExportScoped, ExportAllow:
	default:
		return fmt.Errorf("class %s: export must be deny, scoped or allow", c.Name)
	}
	if !regionRE.MatchString(c.Region) {
		return fmt.Errorf("class %s: region must be a-z 0-9 -", c.Name)
	}
	return nil
}
