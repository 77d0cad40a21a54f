package entry

// The private detail records: one Go type per kind of detail, beside the
// public body it belongs to (kinds.go), so that a detail's field names are
// spelled once too. The writers fill these types and the readers (the
// auditor, the review service) decode into them.
//
// A detail is kept only in the store; its entry commits to its exact JSON
// bytes (docs/INVARIANTS.md, I4). The fields of each type are therefore in
// the order of their JSON names, as a map's keys were encoded before the
// types existed, and a tag is never renamed: testdata/details holds each
// type's bytes, and TestDetailVectors fails on any change to them.
//
// Times are strings (RFC 3339), as in the public bodies.

// PrincipalDetail is the detail of a principal created: who it is.
type PrincipalDetail struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
}

// PolicyDetail is the detail of a policy set: the policy's text.
type PolicyDetail struct {
	Policy string `json:"policy"`
}

// AuthorizationDetail is the detail of an authorization registered: its
// case and the signed note itself.
type AuthorizationDetail struct {
	Case string `json:"case"`
	ID   string `json:"id"`
	Note string `json:"note"`
}

// IngestDetail is the detail of an object taken into custody.
type IngestDetail struct {
	Bytes       int64  `json:"bytes"`
	CollectedAt string `json:"collected_at"` // RFC 3339
	Object      string `json:"object"`
	RetainUntil string `json:"retain_until"` // RFC 3339
	Source      string `json:"source"`
}

// AccessDetail is the detail of a decision on a read outside a run: who
// asked, under what, and why.
type AccessDetail struct {
	Authorization string `json:"authorization"`
	Emergency     string `json:"emergency"` // the emergency reason claimed; "" for none
	// Flag is the flag whose evidence a reviewer viewed; absent, not
	// empty, on every other read.
	Flag          string `json:"flag,omitempty"`
	Justification string `json:"justification"`
	Object        string `json:"object"`
	Principal     string `json:"principal"`
	Purpose       string `json:"purpose"`
}

// RunReadDetail is the detail of a read in a run: what the auditor matches
// against the run's list (RunDetail.Objects). A struct, not a map, also
// for its encoding's cost: a run writes one per object.
type RunReadDetail struct {
	Object   string `json:"object"`
	Position int    `json:"position"` // in the run's list
	Run      string `json:"run"`
}

// HoldDetail is the detail of a hold set or released.
type HoldDetail struct {
	Authorization string `json:"authorization"`
	Object        string `json:"object"`
	Reason        string `json:"reason"`
}

// EraseDetail is the detail of an object crypto-shredded.
type EraseDetail struct {
	Authorization string `json:"authorization"`
	Object        string `json:"object"`
	RetainUntil   string `json:"retain_until"` // RFC 3339
}

// FlagDetail is the detail of a flag raised: the match in the clear, which
// the auditor checks against the run's reads.
type FlagDetail struct {
	Candidates []string `json:"candidates"` // keyed pseudonyms of the candidates
	Flag       string   `json:"flag"`
	Inputs     []string `json:"inputs"`
	MatchedAt  string   `json:"matched_at"` // RFC 3339 with fractional seconds
	References []string `json:"references"`
	Run        string   `json:"run"`
}

// ReviewDetail is the detail of a review: the reviewer's rationale.
type ReviewDetail struct {
	Flag      string `json:"flag"`
	Rationale string `json:"rationale"`
}

// ActionDetail is the detail of an action taken: the confirming reviewers
// in the clear.
type ActionDetail struct {
	Flag      string   `json:"flag"`
	Kind      string   `json:"kind"`
	Reviewers []string `json:"reviewers"`
}

// ContestFiledDetail is the detail of a contest filed (OpFiled): the
// person's statement.
type ContestFiledDetail struct {
	Action    string `json:"action"`
	Contest   string `json:"contest"`
	Statement string `json:"statement"`
}

// ContestResolvedDetail is the detail of a contest resolved (OpResolved):
// the resolver's rationale.
type ContestResolvedDetail struct {
	Contest   string `json:"contest"`
	Outcome   string `json:"outcome"`
	Rationale string `json:"rationale"`
}

// BreachDetail is the detail of a breach: the emergency read it follows.
type BreachDetail struct {
	AccessEntry     uint64 `json:"access_entry"`
	EmergencyReason string `json:"emergency_reason"`
	Principal       string `json:"principal"`
	Purpose         string `json:"purpose"`
}

// AttestationDetail is the detail of an attestation: the controller's note.
type AttestationDetail struct {
	AccessEntry uint64 `json:"access_entry"`
	Note        string `json:"note"`
}

// RunDetail is the detail of a run started (or refused): the object list
// the entry commits to, and the starter's justification.
type RunDetail struct {
	Justification string   `json:"justification"`
	Objects       []string `json:"objects"`
	Principal     string   `json:"principal"`
	Run           string   `json:"run"`
	// SelectionClass is the class of a run that selects its objects
	// (never empty then); absent for a run given its list.
	SelectionClass string `json:"selection_class,omitempty"`
}

// RecipientDetail is the detail of a recipient registered: its name and
// the age recipient exports to it are sealed to.
type RecipientDetail struct {
	ID   string `json:"id"`
	Key  string `json:"key"`
	Name string `json:"name"`
}

// ProposalDetail is the detail of a proposal: what the operation would
// change (its target, as its direct request's path names it) and its
// parameters, the direct request's JSON body, whose SHA-256 the entry
// holds.
type ProposalDetail struct {
	Operation string `json:"operation"`
	Params    string `json:"params"`
	Proposal  string `json:"proposal"`
	Target    string `json:"target"`
	// Salt opens the entry's params_sha256: the SHA-256 of the salt's 32
	// bytes (hex here) and then Params.
	Salt string `json:"salt,omitempty"`
}

// NoticeDetail is the detail of an erasure notice sent: the notice, its
// object and recipient, and how it was sent.
type NoticeDetail struct {
	Note      string `json:"note"`
	Notice    string `json:"notice"`
	Object    string `json:"object"`
	Recipient string `json:"recipient"`
}

// ExportDetail is the detail of an export decided: the objects it
// carried, in the package's order, who asked and why.
type ExportDetail struct {
	Export        string   `json:"export"`
	Justification string   `json:"justification"`
	Objects       []string `json:"objects"`
	Principal     string   `json:"principal"`
}

// ExportReadDetail is the detail of an object's read in an export: what
// the auditor matches against the export's list (ExportDetail.Objects).
type ExportReadDetail struct {
	Export   string `json:"export"`
	Object   string `json:"object"`
	Position int    `json:"position"` // in the export's list
}
