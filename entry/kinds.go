package entry

// The entry schema: one Go type per kind, with its public fields and refs.
// This file is the only place that spells a field or ref name; the
// encoder, both parsers, the journal, the auditor and the report all read
// it through these types. Adding a kind means adding its type here (and to
// bodies), its vectors in testdata/, and its audit rules. The private
// detail records have their types beside these, in details.go.
//
// Tags: `log:"name"` is a public field, omitted when zero; `log:"name,always"`
// is written even when zero. `log:"name,ref"` is a ref: a string ref names
// exactly one thing, a []string ref one to 256. Before the journal writes
// an entry its refs hold identifiers, which it turns into keyed pseudonyms
// (Pseudonymize); `keyed` marks a ref whose values are keyed pseudonyms
// already (an object's subjects are never held in the clear). In a parsed
// entry every ref holds pseudonyms.
//
// Field types: string is a code (Code), []string a list of at most 64
// codes, int64 an integer, float64 a number, bool a boolean.

// Decisions of access and export entries.
const (
	Permit = "permit"
	Deny   = "deny"
)

// Ops: what an entry of a kind with several operations did.
const (
	OpCreate             = "create"               // principal
	OpDisable            = "disable"              // principal
	OpEmergencyRestore   = "emergency_restore"    // principal: emergency access given back
	OpSet                = "set"                  // policy, hold
	OpRelease            = "release"              // hold
	OpRegister           = "register"             // authorization, issuer, analytic, recipient, contract
	OpRevoke             = "revoke"               // authorization
	OpRotate             = "rotate"               // key
	OpDetails            = "details"              // audit: the auditor read detail records
	OpDetailsErased      = "details_erased"       // system: detail records past retention erased
	OpDerivedDataDeleted = "derived_data_deleted" // attestation
	OpFiled              = "filed"                // contest, tip
	OpFollowedUp         = "followed_up"          // tip: the source wrote again
	OpAcknowledged       = "acknowledged"         // tip: receipt acknowledged to the source
	OpAnswered           = "answered"             // tip: feedback given to the source
	OpReplied            = "replied"              // tip: another message to the source
	OpResolved           = "resolved"             // contest
	OpVersion            = "version"              // analytic: a version registered
	OpRetire             = "retire"               // analytic: a version retired; recipient
	OpStart              = "start"                // run
	OpClose              = "close"                // run
	OpPropose            = "propose"              // proposal
	OpApprove            = "approve"              // proposal
	OpRefuse             = "refuse"               // proposal
	OpExpire             = "expire"               // proposal
	OpEnable             = "enable"               // quorum (also raised or lowered)
	OpImport             = "import"               // contract: an import's closing entry
	OpAmend              = "amend"                // contract: a later release
)

// Review outcomes.
const (
	Confirm = "confirm"
	Reject  = "reject"
)

// Principal records a principal created or disabled, or its emergency
// access restored.
type Principal struct {
	Op        string   `log:"op"`
	Roles     []string `log:"roles"`
	Principal string   `log:"principal,ref"`
	System    string   `log:"system,ref"` // the analytic system a machine is bound to
	By        string   `log:"by,ref"`
	// Proposal and Approver cite the approved proposal a privileged
	// change carried out, and its approvers as their votes' by.
	Proposal string   `log:"proposal,ref"`
	Approver []string `log:"approver,ref,keyed"`
}

// Policy records a new access policy.
type Policy struct {
	Op           string `log:"op"`
	Version      int64  `log:"version"`
	PolicySHA256 string `log:"policy_sha256"`
	By           string `log:"by,ref"`
	// Proposal and Approver cite the approved proposal a privileged
	// change carried out, and its approvers as their votes' by.
	Proposal string   `log:"proposal,ref"`
	Approver []string `log:"approver,ref,keyed"`
}

// Authorization records a legal authorization registered or revoked.
type Authorization struct {
	Op            string   `log:"op"`
	AuthKind      string   `log:"auth_kind"`
	Issuer        string   `log:"issuer"`
	Purposes      []string `log:"purposes"`
	Classes       []string `log:"classes"`
	Wildcard      bool     `log:"wildcard"`
	NotBefore     string   `log:"not_before"` // RFC 3339
	NotAfter      string   `log:"not_after"`  // RFC 3339
	MaxUses       int64    `log:"max_uses"`   // 0: unlimited
	Jurisdiction  string   `log:"jurisdiction"`
	Reason        string   `log:"reason"`
	Authorization string   `log:"authorization,ref"`
	Subject       []string `log:"subject,ref,keyed"`
	// The sharing scope's limits, when it has a share-recipient: the
	// jurisdictions exports may cross to, the date recipients must delete
	// by, whether they may pass data on.
	TransferJurisdictions []string `log:"transfer_jurisdictions"`
	ShareUntil            string   `log:"share_until"` // RFC 3339
	ShareOnward           bool     `log:"share_onward"`
	Recipient             []string `log:"recipient,ref"`
	By                    string   `log:"by,ref"`
}

// Ingest records an object taken into custody.
type Ingest struct {
	Class       string   `log:"class"`
	Region      string   `log:"region"`
	Source      string   `log:"source"`
	SizeBand    string   `log:"size_band"`
	RetainUntil string   `log:"retain_until"` // a date
	Object      string   `log:"object,ref"`
	Subject     []string `log:"subject,ref,keyed"`
	By          string   `log:"by,ref"`
}

// Access records a decision on a read: a permit or a denial.
type Access struct {
	Decision      string   `log:"decision"`
	Class         string   `log:"class"`
	Purpose       string   `log:"purpose"`
	Reasons       []string `log:"reasons"`
	Emergency     bool     `log:"emergency"`
	Use           int64    `log:"use"` // the authorization's use this read spent
	PolicySHA256  string   `log:"policy_sha256"`
	AuthKind      string   `log:"auth_kind"`
	Object        string   `log:"object,ref"`
	Subject       []string `log:"subject,ref,keyed"`
	Authorization string   `log:"authorization,ref"`
	Run           string   `log:"run,ref"`    // the run this read was part of
	Export        string   `log:"export,ref"` // the export this read was part of
	Flag          string   `log:"flag,ref"`   // the flag whose evidence a reviewer viewed
	By            string   `log:"by,ref"`
}

// Hold records a legal hold set on an object or released.
type Hold struct {
	Op            string `log:"op"`
	Reason        string `log:"reason"`
	Object        string `log:"object,ref"`
	Authorization string `log:"authorization,ref"`
	By            string `log:"by,ref"`
	// Proposal and Approver cite the approved proposal a privileged
	// change carried out, and its approvers as their votes' by.
	Proposal string   `log:"proposal,ref"`
	Approver []string `log:"approver,ref,keyed"`
}

// Erase records an object crypto-shredded.
type Erase struct {
	Reason        string `log:"reason"`
	Class         string `log:"class"`
	Object        string `log:"object,ref"`
	Authorization string `log:"authorization,ref"`
	By            string `log:"by,ref"`
	// Recipient lists the recipients that logged exports carried the
	// object to: the erasure owes each a notice, logged as a notice entry
	// when it is sent.
	Recipient []string `log:"recipient,ref"`
	// Proposal and Approver cite the approved proposal a privileged
	// change carried out, and its approvers as their votes' by.
	Proposal string   `log:"proposal,ref"`
	Approver []string `log:"approver,ref,keyed"`
}

// Export records a decision on an export: the objects of one request
// sealed to one registered recipient, under one authorization, which the
// export spends one use of. Each object in it is decided on its own, as a
// read, and logged as an access entry whose export ref names the export
// (reasons in_export) before any of its bytes leave. ClassCounts are the
// objects released by class, each "CLASS:N"; the object list is in the
// detail record.
type Export struct {
	Decision          string   `log:"decision"`
	Purpose           string   `log:"purpose"`
	RecipientCategory string   `log:"recipient_category"`
	Jurisdiction      string   `log:"jurisdiction"` // the recipient's
	CrossBorder       bool     `log:"cross_border"`
	ClassCounts       []string `log:"class_counts"`
	Objects           int64    `log:"objects"`
	Reasons           []string `log:"reasons"`
	Use               int64    `log:"use"`
	PolicySHA256      string   `log:"policy_sha256"`
	AuthKind          string   `log:"auth_kind"`
	Export            string   `log:"export,ref"`
	Recipient         string   `log:"recipient,ref"`
	Authorization     string   `log:"authorization,ref"`
	By                string   `log:"by,ref"`
}

// Recipient records a body that exports may go to, registered or
// retired. Its name is in the detail record only.
type Recipient struct {
	Op                string `log:"op"` // OpRegister or OpRetire
	RecipientCategory string `log:"recipient_category"`
	Jurisdiction      string `log:"jurisdiction"`
	Recipient         string `log:"recipient,ref"`
	By                string `log:"by,ref"`
	// Proposal and Approver cite the approved proposal a privileged
	// change carried out, and its approvers as their votes' by.
	Proposal string   `log:"proposal,ref"`
	Approver []string `log:"approver,ref,keyed"`
}

// Notice records an erasure notice sent: the controller told a recipient
// that an object exported to it was erased (GDPR Art. 19; Law
// Enforcement Directive Art. 16(6)). Its object and recipient match the
// erase entry that owed it.
type Notice struct {
	RecipientCategory string `log:"recipient_category"`
	Jurisdiction      string `log:"jurisdiction"` // the recipient's
	Object            string `log:"object,ref"`
	Recipient         string `log:"recipient,ref"`
	By                string `log:"by,ref"`
}

// Proposal records a privileged operation proposed, a vote on it, or its
// expiry. Operation is one of the privileged operations; ParamsSHA256
// commits to its parameters: the SHA-256 of a random 32-byte salt and
// then the parameters, both in the detail record of the proposal, so that
// no one can confirm a guess of them from the log. Expires is when an
// unapproved proposal closes.
type Proposal struct {
	Op           string `log:"op"` // OpPropose, OpApprove, OpRefuse or OpExpire
	Operation    string `log:"operation"`
	ParamsSHA256 string `log:"params_sha256"`
	Expires      string `log:"expires"`
	Proposal     string `log:"proposal,ref"`
	By           string `log:"by,ref"`
}

// Quorum records the multi-party approval in force: enabled with the
// admins each privileged operation needs ("operation:N"), or disabled
// (the set-up mode). A change that lowers an enabled quorum cites the
// proposal that approved it.
type Quorum struct {
	Op       string   `log:"op"` // OpEnable or OpDisable
	Required []string `log:"required"`
	// (the quorum's Required, as ombud.Quorum.Counts spells it)
	Proposal string   `log:"proposal,ref"`
	Approver []string `log:"approver,ref,keyed"`
	By       string   `log:"by,ref"`
}

// Flag records an automated match raised by an analytic system.
type Flag struct {
	System         string   `log:"system"`
	Model          string   `log:"model"`
	ModelVersion   string   `log:"model_version"`
	Mode           string   `log:"mode"`
	ReferenceDB    string   `log:"reference_db"`
	GallerySize    int64    `log:"gallery_size"`
	Rank           int64    `log:"rank"`
	Score          float64  `log:"score"`
	Threshold      float64  `log:"threshold"`
	OperatingPoint string   `log:"operating_point"`
	PeriodStart    string   `log:"period_start"`
	PeriodEnd      string   `log:"period_end"`
	Class          string   `log:"class"`
	Flag           string   `log:"flag,ref"`
	Input          []string `log:"input,ref"`
	Candidate      []string `log:"candidate,ref"`
	Reference      []string `log:"reference,ref"` // the candidates' reference images, objects read in the run
	Run            string   `log:"run,ref"`       // the run that raised it
	By             string   `log:"by,ref"`
}

// Review records a reviewer's verdict on a flag.
type Review struct {
	Outcome string `log:"outcome"` // Confirm or Reject
	Flag    string `log:"flag,ref"`
	By      string `log:"by,ref"`
}

// Action records an action taken on a flag.
type Action struct {
	ActionKind    string   `log:"action_kind"`
	Confirmations int64    `log:"confirmations"`
	ModelVersion  string   `log:"model_version"`
	Flag          string   `log:"flag,ref"`
	Action        string   `log:"action,ref"`
	Reviewer      []string `log:"reviewer,ref,keyed"` // the confirming reviewers, as their review entries' by
	By            string   `log:"by,ref"`
}

// Contest records a contest of an action filed or resolved.
type Contest struct {
	Op      string `log:"op"`
	Outcome string `log:"outcome"`
	// DeadlineDays is, on a filing, the days the deployment has to resolve
	// it: the contest is due at the filing's time plus these days. An
	// overturned resolution withdraws the action it names.
	DeadlineDays int64  `log:"deadline_days"`
	Action       string `log:"action,ref"`
	Contest      string `log:"contest,ref"`
	By           string `log:"by,ref"`
}

// Tip records what the whistleblower intake may show of a tip: no word
// of it, only commitments, the day, and who answered. Its ref is the
// pseudonym of the commitment of the tip's first submission, so that every
// entry about one tip carries the same one.
//
// Op filed records a tip filed, and followed_up a later message from its
// source. Each holds the commitment (hex SHA-256) of the sealed
// submission, and is logged in one batch a day, at a random moment, in
// random order, with the filing day as its time (00:00:00 UTC): neither
// its time nor its place in the log dates the source more closely.
//
// Op acknowledged, answered and replied record the oversight body writing
// to the source: an acknowledgment of receipt, feedback on what was done,
// or another message. Each holds the commitment of the sealed reply and
// the principal who sent it. From these alone anyone can count the tips
// not acknowledged within 7 days or answered within 3 months.
type Tip struct {
	Op         string `log:"op"`
	Commitment string `log:"commitment"`
	Tip        string `log:"tip,ref"`
	By         string `log:"by,ref"`
}

// Contract records the public registry of procurement contracts (OCDS
// releases). An import registers its contracts as one change: a register
// entry for each, then one import entry with their count, logged only
// once every register entry is; a register entry counts only once its
// import entry follows (the same import ref). An amendment records a later
// release of a registered contract. Release is the SHA-256 of the release
// as the registry serves it (/contracts/export.json), so anyone can check
// the published release against its entry; the rest are its codes: the
// parties' ids, the product flags and the safeguard clauses it lacks,
// with and without a recorded exception.
type Contract struct {
	Op             string   `log:"op"`
	OCID           string   `log:"ocid"`
	Release        string   `log:"release"`
	Buyer          string   `log:"buyer"`
	Vendor         string   `log:"vendor"`
	Intermediaries []string `log:"intermediaries"` // resellers and integrators, in the chain's order
	ProductFlags   []string `log:"product_flags"`
	MissingClauses []string `log:"missing_clauses"`
	Unexplained    []string `log:"unexplained"` // missing clauses with no recorded exception
	Upstream       []string `log:"upstream"`    // the ocids of the contracts its chain links to
	Count          int64    `log:"count"`       // import: how many contracts it registered
	Import         string   `log:"import,ref"`
	By             string   `log:"by,ref"`
	// Proposal and Approver cite the approved proposal an amendment
	// (privileged) carried out, and its approvers.
	Proposal string   `log:"proposal,ref"`
	Approver []string `log:"approver,ref,keyed"`
}

// Key records a key-encryption key rotated.
type Key struct {
	Op         string `log:"op"`
	KEKVersion int64  `log:"kek_version"`
	Keysets    int64  `log:"keysets"`
	By         string `log:"by,ref"`
	// Proposal and Approver cite the approved proposal a privileged
	// change carried out, and its approvers as their votes' by.
	Proposal string   `log:"proposal,ref"`
	Approver []string `log:"approver,ref,keyed"`
}

// Report records a transparency report published.
type Report struct {
	Period         string `log:"period"`
	CheckpointSize int64  `log:"checkpoint_size"`
	ReportSHA256   string `log:"report_sha256"`
	Format         string `log:"format"`
	By             string `log:"by,ref"`
}

// Breach records an emergency read not covered by an authorization in time.
type Breach struct {
	Reason   string `log:"reason"`
	Class    string `log:"class"`
	Deadline string `log:"deadline"` // RFC 3339
	Object   string `log:"object,ref"`
	By       string `log:"by,ref"` // the reader
	Access   string `log:"access,ref"`
}

// Issuer records an issuer of authorizations registered with its key.
type Issuer struct {
	Op           string `log:"op"`
	Issuer       string `log:"issuer"`
	IssuerKind   string `log:"issuer_kind"`
	Jurisdiction string `log:"jurisdiction"`
	KeyID        string `log:"key_id"`
	By           string `log:"by,ref"`
	// Proposal and Approver cite the approved proposal a privileged
	// change carried out, and its approvers as their votes' by.
	Proposal string   `log:"proposal,ref"`
	Approver []string `log:"approver,ref,keyed"`
}

// Audit records an auditor reading detail records, entries From to To.
type Audit struct {
	Op   string `log:"op"`
	From int64  `log:"from,always"`
	To   int64  `log:"to,always"`
	By   string `log:"by,ref"`
}

// System records what ombud did on its own schedule, such as erasing the
// detail records of a kind whose retention ended.
type System struct {
	Op        string `log:"op"`
	EntryKind string `log:"entry_kind"`
	Before    string `log:"before"` // a date
	Count     int64  `log:"count"`
}

// Build records the build of ombud a gateway started with, before it
// decides anything: the SHA-256 of its executable (what sha256sum prints),
// the main module's version and VCS revision, whether the work tree had
// uncommitted changes, the Go toolchain, and the SHA-256 of its SBOM
// (ombud sbom). The entries after it were decided by that build, or, with
// several gateways on one log, by one of the builds their latest build
// entries name.
type Build struct {
	BinarySHA256 string `log:"binary_sha256"`
	BuildVersion string `log:"build_version"`
	VCSRevision  string `log:"vcs_revision"`
	VCSModified  bool   `log:"vcs_modified"`
	GoVersion    string `log:"go_version"`
	SBOMSHA256   string `log:"sbom_sha256"`
}

// Attestation records a controller's attestation, such as the deletion of
// data derived from an uncovered emergency read (the Access entry).
type Attestation struct {
	Op     string `log:"op"`
	Access int64  `log:"access,always"`
	Object string `log:"object,ref"`
	By     string `log:"by,ref"`
}

func (Principal) Kind() Kind     { return KindPrincipal }
func (Policy) Kind() Kind        { return KindPolicy }
func (Authorization) Kind() Kind { return KindAuthorization }
func (Ingest) Kind() Kind        { return KindIngest }
func (Access) Kind() Kind        { return KindAccess }
func (Hold) Kind() Kind          { return KindHold }
func (Erase) Kind() Kind         { return KindErase }
func (Export) Kind() Kind        { return KindExport }
func (Recipient) Kind() Kind     { return KindRecipient }
func (Notice) Kind() Kind        { return KindNotice }
func (Proposal) Kind() Kind      { return KindProposal }
func (Quorum) Kind() Kind        { return KindQuorum }
func (Flag) Kind() Kind          { return KindFlag }
func (Review) Kind() Kind        { return KindReview }
func (Action) Kind() Kind        { return KindAction }
func (Contest) Kind() Kind       { return KindContest }
func (Tip) Kind() Kind           { return KindTip }
func (Contract) Kind() Kind      { return KindContract }
func (Key) Kind() Kind           { return KindKey }
func (Report) Kind() Kind        { return KindReport }
func (Breach) Kind() Kind        { return KindBreach }
func (Issuer) Kind() Kind        { return KindIssuer }
func (Audit) Kind() Kind         { return KindAudit }
func (System) Kind() Kind        { return KindSystem }
func (Attestation) Kind() Kind   { return KindAttestation }
func (Build) Kind() Kind         { return KindBuild }

// bodies lists one zero value of every kind's type.
var bodies = []Body{
	Principal{}, Policy{}, Authorization{}, Ingest{}, Access{}, Hold{}, Erase{}, Export{},
	Flag{}, Review{}, Action{}, Contest{}, Tip{}, Contract{}, Key{}, Report{}, Breach{},
	Issuer{}, Audit{}, System{}, Attestation{}, Analytic{}, Run{}, Recipient{}, Notice{}, Proposal{}, Quorum{}, Build{},
}

// Analytic records the public registry of analytic systems: a system
// registered with its first version, a further version registered, or a
// version retired. Every value is public by nature (the deployment's
// counterpart of the EU database of high-risk AI systems); references to
// an impact assessment, a contract or an accuracy report are codes.
type Analytic struct {
	Op               string   `log:"op"` // OpRegister, OpVersion or OpRetire
	Name             string   `log:"name"`
	Vendor           string   `log:"vendor"`
	Task             string   `log:"task"`
	Classes          []string `log:"classes"`
	Model            string   `log:"model"`
	ModelVersion     string   `log:"model_version"`
	FMR              float64  `log:"fmr"`
	FNMR             float64  `log:"fnmr"`
	FPIR             float64  `log:"fpir"`
	FNIR             float64  `log:"fnir"`
	Threshold        float64  `log:"threshold"`
	AccuracySource   string   `log:"accuracy_source"`
	ImpactAssessment string   `log:"impact_assessment"`
	Contract         string   `log:"contract"`
	System           string   `log:"system,ref"`
	By               string   `log:"by,ref"`
	// Proposal and Approver cite the approved proposal a privileged
	// change carried out, and its approvers as their votes' by.
	Proposal string   `log:"proposal,ref"`
	Approver []string `log:"approver,ref,keyed"`
}

func (Analytic) Kind() Kind { return KindAnalytic }

// Run records an analytic run started (or refused), or closed. A start
// names the system version, the purpose, the object count, the data
// classes read and the time limit; the detail record holds the object
// list, so the entry commits to it. A close says how the run ended and
// how many objects and bytes it released.
type Run struct {
	Op            string   `log:"op"`       // OpStart or OpClose
	Decision      string   `log:"decision"` // a start: Permit or Deny
	ModelVersion  string   `log:"model_version"`
	Purpose       string   `log:"purpose"`
	Classes       []string `log:"classes"`
	Objects       int64    `log:"objects"`
	Until         string   `log:"until"` // RFC 3339: the time limit
	Reasons       []string `log:"reasons"`
	Use           int64    `log:"use"` // the authorization use the run spent
	PolicySHA256  string   `log:"policy_sha256"`
	AuthKind      string   `log:"auth_kind"`
	Read          int64    `log:"read"`  // a close: objects released
	Bytes         int64    `log:"bytes"` // a close: plaintext bytes released
	Run           string   `log:"run,ref"`
	System        string   `log:"system,ref"`
	Authorization string   `log:"authorization,ref"`
	By            string   `log:"by,ref"`
}

func (Run) Kind() Kind { return KindRun }
