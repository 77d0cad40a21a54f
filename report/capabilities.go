package report

// Capabilities are the optional parts of a deployment: what it offers
// beyond custody, access, analytic runs and their review. The public pages
// and the transparency report say a capability is not offered when it is
// false, instead of counting it as zero: a zero reads as compliance, an
// absent feature is not.
//
// The composition root builds them once from the live configuration:
// sharing and the whistleblower intake as configured; the registry of
// procurement contracts is part of every deployment.
type Capabilities struct {
	// Sharing: records are exported to other bodies, each export logged.
	Sharing bool
	// Tips: a whistleblower intake takes reports.
	Tips bool
	// Contracts: a procurement register records the contracts analytic
	// systems are bought under and the clauses they lack.
	Contracts bool
}

// Statements of what a deployment does not offer, as the public pages and
// the report's renderings print them.
const (
	NoSharing   = "This deployment does not share data with other bodies."
	NoTips      = "This deployment has no whistleblower intake."
	NoContracts = "This deployment keeps no procurement register."
)
