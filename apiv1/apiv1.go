// Package apiv1 holds the request and response bodies of ombud's HTTP API,
// version 1 (docs/API.md): the server (package api), the Go client
// (package client), the CLI and the auditor all use these types, so that
// what one side writes the other reads.
package apiv1

import (
	"encoding/json"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/journal"
)

// MaxDetailRange bounds one GET /v1/audit/details request, in entries.
const MaxDetailRange = 65536

// DetailRecord is one line of GET /v1/audit/details: the entry index, the
// commitment the server holds, and the salt and body (absent when the
// record was erased, or missing). Salt and body are base64 in JSON, so the
// committed bytes arrive exactly.
type DetailRecord struct {
	Index      uint64 `json:"index"`
	Commitment string `json:"commitment"`
	Salt       []byte `json:"salt,omitempty"`
	Body       []byte `json:"body,omitempty"`
	Erased     bool   `json:"erased,omitempty"`
	Missing    bool   `json:"missing,omitempty"`
}

// ErrorBody is the JSON of every error response. The status code and
// Code are stable: clients branch on them, not on Message.
type ErrorBody struct {
	Error struct {
		Code ombud.Code `json:"code"`
		// Reason, when set, is the refusal's own stable code within Code
		// (such as version_retired or run_time_limit); a logged decision
		// logs the same one.
		Reason  string `json:"reason,omitempty"`
		Message string `json:"message"`
		// Problems, when set, are every problem of an invalid input (a
		// contract), each at its field as a JSON pointer.
		Problems []ombud.Problem `json:"problems,omitempty"`
	} `json:"error"`
}

// Receipt is the answer to a logged change: the index of its log entry,
// whose receipt GET /v1/receipts/{index} serves. Every such answer also
// carries the index in the Ombud-Receipt header.
type Receipt struct {
	Receipt uint64 `json:"receipt"`
}

// CreatePrincipal is the body of POST /v1/principals.
type CreatePrincipal struct {
	Name  string       `json:"name"`
	Roles []ombud.Role `json:"roles"`
	// System is the registered analytic system a principal of the system
	// role acts for; it has that role alone.
	System string `json:"system,omitempty"`
}

// Principal is a principal as the API shows it; Token is set only in the
// response that creates it, and Receipt only in answers to a change.
type Principal struct {
	ID       string       `json:"id"`
	Name     string       `json:"name"`
	Roles    []ombud.Role `json:"roles"`
	Created  time.Time    `json:"created"`
	Disabled bool         `json:"disabled"`
	// EmergencySuspended is the breach entry that suspended the
	// principal's emergency access (absent: not suspended).
	EmergencySuspended uint64  `json:"emergency_suspended,omitempty"`
	System             string  `json:"system,omitempty"`
	Token              string  `json:"token,omitempty"`
	Receipt            *uint64 `json:"receipt,omitempty"`
}

// Principals is the answer to GET /v1/principals.
type Principals struct {
	Principals []Principal `json:"principals"`
}

// PrincipalDisabled is the answer to DELETE /v1/principals/{id}.
type PrincipalDisabled struct {
	ID       string `json:"id"`
	Disabled bool   `json:"disabled"`
	Receipt  uint64 `json:"receipt"`
}

// EmergencyRestored is the answer to POST
// /v1/principals/{id}/emergency/restore.
type EmergencyRestored struct {
	ID              string `json:"id"`
	EmergencyAccess string `json:"emergency_access"` // "restored"
	Receipt         uint64 `json:"receipt"`
}

// Attest is the body of POST /v1/emergencies/{index}/attest. Note says
// what was deleted, where and by whom: free text, kept only in the private
// detail record.
type Attest struct {
	Note string `json:"note"`
}

// Attested is the answer to POST /v1/emergencies/{index}/attest.
type Attested struct {
	EmergencyRead uint64 `json:"emergency_read"`
	Attested      bool   `json:"attested"`
	Receipt       uint64 `json:"receipt"`
}

// Object is an object's public metadata as the API shows it.
type Object struct {
	ID            string    `json:"id"`
	Class         string    `json:"class"`
	Region        string    `json:"region,omitempty"`
	Size          int64     `json:"size"`
	CollectedAt   time.Time `json:"collected_at"`
	RetainUntil   time.Time `json:"retain_until"`
	KEKVersion    int       `json:"kek_version"`
	Hold          *Hold     `json:"hold,omitempty"`
	Erased        *Erased   `json:"erased,omitempty"`
	IngestReceipt uint64    `json:"ingest_receipt"`
	Receipt       *uint64   `json:"receipt,omitempty"`
}

// Hold is a legal hold on an object.
type Hold struct {
	Reason        string    `json:"reason"`
	Authorization string    `json:"authorization"`
	Since         time.Time `json:"since"`
}

// Erased says when and why an object was crypto-shredded.
type Erased struct {
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
	Receipt uint64    `json:"receipt"`
}

// Order is the body of POST /v1/objects/{id}/hold, …/hold/release and
// …/erase: a registered reason and the order's reference.
type Order struct {
	Reason        string `json:"reason"`
	Authorization string `json:"authorization"`
}

// OrderDone is the answer to an order: the object's new state and the
// order's receipt. Hold is set for holds and releases, Erased for
// erasures.
type OrderDone struct {
	ID      string `json:"id"`
	Hold    *bool  `json:"hold,omitempty"`
	Erased  *bool  `json:"erased,omitempty"`
	Receipt uint64 `json:"receipt"`
}

// SweepResult is the answer to POST /v1/sweep.
type SweepResult struct {
	Settled  journal.Settled `json:"settled_changes"`
	Erased   int             `json:"erased"`
	Failed   int             `json:"failed"`
	Breaches int             `json:"emergency_breaches"`
	// Details counts the detail records erased because their retention
	// ended, by entry kind.
	Details map[string]int `json:"details_erased,omitempty"`
}

// Rotated is the answer to POST /v1/keys/rotate.
type Rotated struct {
	Version int `json:"kek_version"`
	Rewraps int `json:"keysets_rewrapped"`
	// Intermediates counts the intermediate keys rewrapped; Rewraps the
	// keysets of objects stored before intermediate keys.
	Intermediates int    `json:"intermediate_keys_rewrapped"`
	Receipt       uint64 `json:"receipt"`
	Retired       bool   `json:"old_versions_retired"`
}

// RegisterIssuer is the body of POST /v1/issuers.
type RegisterIssuer struct {
	Name         string `json:"name"`
	Kind         string `json:"kind"`
	Jurisdiction string `json:"jurisdiction"`
	Key          string `json:"key"`
}

// Issuer is a registered issuer. Key and Registered are set in lists,
// Receipt is its registration's entry.
type Issuer struct {
	Name         string     `json:"name"`
	Kind         string     `json:"kind"`
	Jurisdiction string     `json:"jurisdiction"`
	Key          string     `json:"key,omitempty"`
	Registered   *time.Time `json:"registered,omitempty"`
	Receipt      uint64     `json:"receipt"`
}

// Issuers is the answer to GET /v1/issuers.
type Issuers struct {
	Issuers []Issuer `json:"issuers"`
}

// Authorization is a registered authorization as the API shows it: no
// subjects and no case reference.
type Authorization struct {
	ID           string     `json:"id"`
	Issuer       string     `json:"issuer"`
	Kind         string     `json:"kind"`
	Purposes     []string   `json:"purposes"`
	Classes      []string   `json:"classes"`
	Wildcard     bool       `json:"wildcard"`
	NotBefore    time.Time  `json:"not_before"`
	NotAfter     time.Time  `json:"not_after"`
	MaxUses      int        `json:"max_uses"`
	Uses         int        `json:"uses"`
	Jurisdiction string     `json:"jurisdiction"`
	Revoked      *time.Time `json:"revoked,omitempty"`
	Receipt      uint64     `json:"receipt"`
}

// Revoke is the body of POST /v1/authorizations/{id}/revoke.
type Revoke struct {
	Reason string `json:"reason"`
}

// Revoked is the answer to POST /v1/authorizations/{id}/revoke.
type Revoked struct {
	ID      string `json:"id"`
	Revoked bool   `json:"revoked"`
	Receipt uint64 `json:"receipt"`
}

// PolicyLoaded is the answer to POST /v1/policy/reload.
// ReloadPolicy is the optional body of POST /v1/policy/reload: the
// SHA-256 of the policy text to load, refused when the file holds
// another (a proposal of policy.reload pins the text its approvers saw).
type ReloadPolicy struct {
	SHA256 string `json:"policy_sha256"`
}

type PolicyLoaded struct {
	Version int    `json:"version"`
	Changed bool   `json:"changed"`
	SHA256  string `json:"policy_sha256"`
}

// Proof is the answer to GET /v1/proofs/inclusion (Index) and
// /v1/proofs/consistency (From).
type Proof struct {
	Index    *uint64  `json:"index,omitempty"`
	From     *uint64  `json:"from,omitempty"`
	TreeSize uint64   `json:"tree_size"`
	Proof    [][]byte `json:"proof"`
}

// PublishReport is the body of POST /v1/reports.
type PublishReport struct {
	Period string `json:"period"`
}

// Published is the answer to POST /v1/reports.
type Published struct {
	Period         string `json:"period"`
	CheckpointSize uint64 `json:"checkpoint_size"`
	SHA256         string `json:"report_sha256"`
	Receipt        uint64 `json:"receipt"`
	URL            string `json:"url"`
}

// Status is the answer to GET /healthz and /readyz.
type Status struct {
	Status string `json:"status"`
}

// Accuracy is a version's published accuracy at its operating point, as
// NIST FRTE reports it: fmr and fnmr for 1:1 verification, fpir and fnir
// for 1:N identification, at threshold; source names the report, as a
// code.
type Accuracy struct {
	FMR       float64 `json:"fmr,omitempty"`
	FNMR      float64 `json:"fnmr,omitempty"`
	FPIR      float64 `json:"fpir,omitempty"`
	FNIR      float64 `json:"fnir,omitempty"`
	Threshold float64 `json:"threshold"`
	Source    string  `json:"source,omitempty"`
}

// RegisterSystem is the body of POST /v1/systems: a system with its first
// version. Every value is public.
type RegisterSystem struct {
	Name             string   `json:"name"`
	Vendor           string   `json:"vendor"`
	Task             string   `json:"task"`
	Classes          []string `json:"classes"`
	Model            string   `json:"model"`
	Version          string   `json:"version"`
	Accuracy         Accuracy `json:"accuracy"`
	ImpactAssessment string   `json:"impact_assessment,omitempty"`
	Contract         string   `json:"contract,omitempty"`
}

// RegisterVersion is the body of POST /v1/systems/{id}/versions.
type RegisterVersion struct {
	Model    string   `json:"model"`
	Version  string   `json:"version"`
	Accuracy Accuracy `json:"accuracy"`
}

// SystemVersionDone is the answer to a registration of a system or a
// version, and to a retirement (Retired set).
type SystemVersionDone struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Retired bool   `json:"retired,omitempty"`
	Receipt uint64 `json:"receipt"`
}

// SystemVersion is one version of a registered system.
type SystemVersion struct {
	Version       string     `json:"version"`
	Model         string     `json:"model"`
	Accuracy      Accuracy   `json:"accuracy"`
	Registered    time.Time  `json:"registered"`
	Receipt       uint64     `json:"receipt"`
	Retired       *time.Time `json:"retired,omitempty"`
	RetireReceipt uint64     `json:"retire_receipt,omitempty"`
}

// System is a registered analytic system, as GET /v1/systems lists it:
// public information.
type System struct {
	ID               string          `json:"id"`
	Name             string          `json:"name"`
	Vendor           string          `json:"vendor"`
	Task             string          `json:"task"`
	Classes          []string        `json:"classes"`
	ImpactAssessment string          `json:"impact_assessment,omitempty"`
	Contract         string          `json:"contract,omitempty"`
	Registered       time.Time       `json:"registered"`
	Receipt          uint64          `json:"receipt"`
	Versions         []SystemVersion `json:"versions"`
}

// Systems is the answer to GET /v1/systems.
type Systems struct {
	Systems []System `json:"systems"`
}

// StartRun is the body of POST /v1/runs: a run of one system version, for
// one purpose, over a list of objects or a selection (one of the two).
type StartRun struct {
	System        string        `json:"system"`
	Version       string        `json:"version"`
	Purpose       string        `json:"purpose"`
	Authorization string        `json:"authorization,omitempty"`
	Objects       []string      `json:"objects,omitempty"`
	Selection     *RunSelection `json:"selection,omitempty"`
	// Justification is free text, kept only in the detail record.
	Justification string `json:"justification,omitempty"`
}

// RunSelection selects every live object of a class naming a subject.
type RunSelection struct {
	Class   string `json:"class"`
	Subject string `json:"subject"`
}

// RunStarted is the answer to POST /v1/runs.
type RunStarted struct {
	ID      string    `json:"id"`
	Receipt uint64    `json:"receipt"`
	Objects int       `json:"objects"`
	Until   time.Time `json:"until"`
}

// Run is a run as GET /v1/runs/{id} and POST /v1/runs/{id}/close answer it.
type Run struct {
	ID            string     `json:"id"`
	System        string     `json:"system"`
	Version       string     `json:"version"`
	Purpose       string     `json:"purpose"`
	Authorization string     `json:"authorization,omitempty"`
	Objects       int        `json:"objects"`
	Classes       []string   `json:"classes"`
	Started       time.Time  `json:"started"`
	Until         time.Time  `json:"until"`
	Receipt       uint64     `json:"receipt"`
	Closed        *time.Time `json:"closed,omitempty"`
	CloseReason   string     `json:"close_reason,omitempty"`
	CloseReceipt  uint64     `json:"close_receipt,omitempty"`
	Read          int64      `json:"read"`
	Bytes         int64      `json:"bytes"`
}

// The headers of each part of GET /v1/runs/{id}/objects (multipart/mixed):
// the object, its class, its position in the run's list, the decision and
// its receipt (the access entry's index), and for a denial its reason. A
// permitted part carries the object's bytes and Content-Length.
const (
	PartObject   = "Ombud-Object"
	PartClass    = "Ombud-Class"
	PartPosition = "Ombud-Position"
	PartDecision = "Ombud-Decision"
	PartReceipt  = "Ombud-Receipt"
	PartReason   = "Ombud-Reason"
)

// CreateFlag is the body of POST /v1/flags: a match an analytic system
// made in a run, for humans to review.
type CreateFlag struct {
	Run        string   `json:"run"`
	Inputs     []string `json:"inputs"`
	Candidates []string `json:"candidates"`
	References []string `json:"references,omitempty"` // the candidates' reference images in custody
	Rank       int64    `json:"rank"`
	Score      float64  `json:"score"`
	Threshold  float64  `json:"threshold"`
	// OperatingPoint names the error rate the threshold was set for, such
	// as fpir-1e-3 (optional; it is public).
	OperatingPoint string     `json:"operating_point,omitempty"`
	ReferenceDB    string     `json:"reference_db"`
	GallerySize    int64      `json:"gallery_size"`
	MatchedAt      *time.Time `json:"matched_at,omitempty"`
}

// FlagCreated is the answer to POST /v1/flags.
type FlagCreated struct {
	ID      string `json:"id"`
	Receipt uint64 `json:"receipt"`
}

// ReviewFlag is the body of POST /v1/flags/{id}/reviews.
type ReviewFlag struct {
	Verdict string `json:"verdict"` // confirm or reject
	// Rationale says why; it is kept only in the private detail record.
	Rationale string `json:"rationale"`
}

// Reviewed is the answer to POST /v1/flags/{id}/reviews.
type Reviewed struct {
	Flag    string `json:"flag"`
	Verdict string `json:"verdict"`
	Receipt uint64 `json:"receipt"`
}

// TakeAction is the body of POST /v1/actions.
type TakeAction struct {
	Flag string `json:"flag"`
	Kind string `json:"kind"`
}

// ActionTaken is the answer to POST /v1/actions. Notice is the code for
// the person affected, shown once ("" for no_action).
type ActionTaken struct {
	ID      string `json:"id"`
	Receipt uint64 `json:"receipt"`
	Notice  string `json:"notice,omitempty"`
	// NoticeText is the notice to hand to the person affected, in plain
	// words, with the code; NoticePage is where a printable copy is had
	// with the code (a form POST of do=notice, code and format=html or
	// text).
	NoticeText string `json:"notice_text,omitempty"`
	NoticePage string `json:"notice_page,omitempty"`
}

// Action is an action as GET /v1/actions and GET /v1/actions/{id} show it
// to the analyst who took it and to oversight. WithdrawnAt is set once a
// contest of it was overturned, which withdraws it.
type Action struct {
	ID               string         `json:"id"`
	Flag             string         `json:"flag"`
	Kind             string         `json:"kind"`
	Created          time.Time      `json:"created"`
	Receipt          uint64         `json:"receipt"`
	Status           string         `json:"status"` // "standing" or "withdrawn"
	WithdrawnAt      *time.Time     `json:"withdrawn_at,omitempty"`
	WithdrawnReceipt uint64         `json:"withdrawn_receipt,omitempty"`
	Contest          *ActionContest `json:"contest,omitempty"`
}

// ActionContest is the contest of an action: filed, due, and how it was
// resolved ("" while open).
type ActionContest struct {
	ID       string     `json:"id"`
	Filed    time.Time  `json:"filed"`
	Due      *time.Time `json:"due,omitempty"`
	Overdue  bool       `json:"overdue"`
	Outcome  string     `json:"outcome,omitempty"`
	Resolved *time.Time `json:"resolved,omitempty"`
	Receipt  uint64     `json:"receipt"`
}

// Action statuses.
const (
	ActionStanding  = "standing"
	ActionWithdrawn = "withdrawn"
)

// Flag is a flag as GET /v1/flags/awaiting lists it for a reviewer: the
// match's facts, the evidence a reviewer may view (GET /v1/objects/{id}
// with Ombud-Purpose: review and Ombud-Flag), and the reviews so far.
type Flag struct {
	ID          string    `json:"id"`
	Run         string    `json:"run"`
	System      string    `json:"system"`
	Version     string    `json:"version"`
	Inputs      []string  `json:"inputs"`
	References  []string  `json:"references,omitempty"`
	Candidates  int       `json:"candidates"` // how many; they are kept only as pseudonyms
	Rank        int64     `json:"rank"`
	Score       float64   `json:"score"`
	Threshold   float64   `json:"threshold"`
	ReferenceDB string    `json:"reference_db"`
	GallerySize int64     `json:"gallery_size"`
	MatchedAt   time.Time `json:"matched_at"`
	Created     time.Time `json:"created"`
	Receipt     uint64    `json:"receipt"`
}

// Contest is an open contest as GET /v1/contests lists it.
type Contest struct {
	ID         string    `json:"id"`
	Action     string    `json:"action"`
	ActionKind string    `json:"action_kind"`
	Flag       string    `json:"flag"`
	Filed      time.Time `json:"filed"`
	Receipt    uint64    `json:"receipt"`
	// Involved: the caller took part in the decision and may not resolve
	// the contest.
	Involved bool `json:"involved"`
	// Statement is the person's, given only to a reviewer who may
	// resolve the contest.
	Statement string `json:"statement,omitempty"`
}

// ResolveContest is the body of POST /v1/contests/{id}/resolution.
type ResolveContest struct {
	Outcome string `json:"outcome"` // upheld or overturned
	// Rationale says why; it is kept only in the private detail record.
	Rationale string `json:"rationale"`
}

// ContestResolved is the answer to POST /v1/contests/{id}/resolution.
type ContestResolved struct {
	ID      string `json:"id"`
	Outcome string `json:"outcome"`
	Receipt uint64 `json:"receipt"`
}

// RegisterRecipient is the body of POST /v1/recipients: a body that
// exports may go to. The name is private (the detail record); the
// category and the jurisdiction are codes of their vocabularies; the key
// is the recipient's age X25519 recipient (age1…).
type RegisterRecipient struct {
	Name         string `json:"name"`
	Category     string `json:"category"`
	Jurisdiction string `json:"jurisdiction"`
	Key          string `json:"key"`
}

// RecipientDone is the answer to a recipient's registration (201) and
// retirement (Retired set).
type RecipientDone struct {
	ID      string `json:"id"`
	Retired bool   `json:"retired,omitempty"`
	Receipt uint64 `json:"receipt"`
}

// Recipient is a registered recipient, as GET /v1/recipients lists it.
type Recipient struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	Category      string     `json:"category"`
	Jurisdiction  string     `json:"jurisdiction"`
	Key           string     `json:"key"`
	Registered    time.Time  `json:"registered"`
	Receipt       uint64     `json:"receipt"`
	Retired       *time.Time `json:"retired,omitempty"`
	RetireReceipt uint64     `json:"retire_receipt,omitempty"`
}

// Recipients is the answer of GET /v1/recipients, by name.
type Recipients struct {
	Recipients []Recipient `json:"recipients"`
}

// Notice is an erasure notice, as GET /v1/notices lists it: an object
// exported to a recipient was erased, and the controller owes the
// recipient a notice by Due.
type Notice struct {
	ID            string `json:"id"`
	Object        string `json:"object"`
	Recipient     string `json:"recipient"`
	RecipientName string `json:"recipient_name"`
	Category      string `json:"recipient_category"`
	Jurisdiction  string `json:"jurisdiction"`
	// Owed is the erasure's time, and EraseReceipt its entry.
	Owed         time.Time `json:"owed"`
	EraseReceipt uint64    `json:"erase_receipt"`
	Due          time.Time `json:"due"`
	Overdue      bool      `json:"overdue"`
	// Sent and SentReceipt are set once it is marked sent.
	Sent        *time.Time `json:"sent,omitempty"`
	SentReceipt uint64     `json:"sent_receipt,omitempty"`
}

// Notices is the answer of GET /v1/notices, by id. Next, when set, is
// the after= of the next page.
type Notices struct {
	Notices []Notice `json:"notices"`
	Next    string   `json:"next,omitempty"`
}

// SendNotice is the body of POST /v1/notices/{id}/sent: how the notice
// was sent (a letter's reference, a message's id), kept in the detail
// record only.
type SendNotice struct {
	Note string `json:"note"`
}

// StartExport is the body of POST /v1/exports: objects to seal to a
// registered recipient, under an authorization whose sharing scope
// allows it. The answer is the sealed package (docs/EXPORT-FORMAT.md),
// streamed, with the export entry's index in Ombud-Receipt and the
// export's id in Ombud-Export.
type StartExport struct {
	Recipient string `json:"recipient"`
	// Objects lists the objects; or Run names a run of the caller's
	// whose list the export takes.
	Objects       []string `json:"objects,omitempty"`
	Run           string   `json:"run,omitempty"`
	Purpose       string   `json:"purpose"`
	Authorization string   `json:"authorization"`
	Justification string   `json:"justification,omitempty"`
}

// HeaderExport names the export a package holds.
const HeaderExport = "Ombud-Export"

// Propose is the body of POST /v1/proposals: a privileged operation, what
// it changes (the id its direct request's path names, "" for none) and
// its direct request's JSON body.
type Propose struct {
	Operation string          `json:"operation"`
	Target    string          `json:"target,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
}

// Executed is what a proposal's operation answered when the quorum was
// reached and it ran: its direct request's status and JSON answer.
type Executed struct {
	Status  int             `json:"status"`
	Receipt uint64          `json:"receipt,omitempty"`
	Answer  json.RawMessage `json:"answer,omitempty"`
}

// Vote is one admin's vote on a proposal.
type Vote struct {
	By      string    `json:"by"`
	Approve bool      `json:"approve"`
	At      time.Time `json:"at"`
	Receipt uint64    `json:"receipt"`
}

// Proposal is a proposal of a privileged operation, as /v1/proposals
// answers it. Params are shown whole, as the approver must see what the
// operation will change; Needs is how many admins, its proposer counted,
// the quorum in force asks of it.
type Proposal struct {
	ID           string          `json:"id"`
	Operation    string          `json:"operation"`
	Target       string          `json:"target,omitempty"`
	Params       json.RawMessage `json:"params"`
	ParamsSHA256 string          `json:"params_sha256"`
	Proposer     string          `json:"proposer"`
	Created      time.Time       `json:"created"`
	Expires      time.Time       `json:"expires"`
	State        string          `json:"state"`
	Needs        int             `json:"needs"`
	Votes        []Vote          `json:"votes"`
	Receipt      uint64          `json:"receipt"`
	ExecReceipt  uint64          `json:"exec_receipt,omitempty"`
	// Executed is set on the answer to the vote (or the proposal) that
	// reached the quorum.
	Executed *Executed `json:"executed,omitempty"`
}

// Proposals is the answer of GET /v1/proposals, the newest first.
type Proposals struct {
	Proposals []Proposal `json:"proposals"`
}

// SetQuorum is the body of POST /v1/quorum: enabled, with the admins
// privileged operations need, each "operation:N" (absent ones need
// ombud's default, 2).
type SetQuorum struct {
	Enabled  bool     `json:"enabled"`
	Required []string `json:"required,omitempty"`
}

// Quorum is the quorum in force (GET /v1/quorum, and the answer to POST).
type Quorum struct {
	Enabled  bool           `json:"enabled"`
	Required map[string]int `json:"required"`
	Receipt  uint64         `json:"receipt,omitempty"`
}

// Tip is a tip of the whistleblower intake as the oversight body sees it
// through the API: days and commitments, never a word of it.
type Tip struct {
	ID           string `json:"id"`
	Filed        string `json:"filed"`
	Logged       bool   `json:"logged"`
	Acknowledged string `json:"acknowledged,omitempty"`
	Answered     string `json:"answered,omitempty"`
	AckDue       string `json:"ack_due"`
	FeedbackDue  string `json:"feedback_due"`
	// Late names the deadlines missed as of now: "acknowledgment",
	// "feedback".
	Late     []string     `json:"late,omitempty"`
	ReplyKey string       `json:"reply_key,omitempty"`
	Messages []TipMessage `json:"messages,omitempty"`
}

// TipMessage is one message of a tip.
type TipMessage struct {
	N          int    `json:"n"`
	Op         string `json:"op"`
	Day        string `json:"day"`
	Commitment string `json:"commitment"`
	Size       int64  `json:"size"`
	Logged     bool   `json:"logged"`
	Index      uint64 `json:"index,omitempty"`
	By         string `json:"by,omitempty"`
}

// Tips is a page of tips; Next is the after of the next page.
type Tips struct {
	Tips []Tip  `json:"tips"`
	Next string `json:"next,omitempty"`
}

// ContractRegistered is one release the registry recorded: its
// contract's ocid, its number among the contract's releases, its SHA-256
// (which its log entry holds) and its entry.
type ContractRegistered struct {
	OCID    string `json:"ocid"`
	Release int    `json:"release"`
	SHA256  string `json:"sha256"`
	Receipt uint64 `json:"receipt"`
}

// ContractsImported is the answer to POST /v1/contracts: the contracts
// registered, all at once, and the import's closing entry.
type ContractsImported struct {
	Contracts []ContractRegistered `json:"contracts"`
	Receipt   uint64               `json:"receipt"`
}

// Contract is a registered contract as GET /v1/contracts lists it: its
// latest release. Parties are given by their ids in the release.
type Contract struct {
	OCID           string    `json:"ocid"`
	Title          string    `json:"title"`
	Buyer          string    `json:"buyer"`
	Vendor         string    `json:"vendor"`
	Intermediaries []string  `json:"intermediaries"`
	ProductFlags   []string  `json:"product_flags"`
	MissingClauses []string  `json:"missing_clauses"`
	Unexplained    []string  `json:"unexplained"`
	Upstream       []string  `json:"upstream"`
	Amount         float64   `json:"amount,omitempty"`
	Currency       string    `json:"currency,omitempty"`
	Releases       int       `json:"releases"`
	SHA256         string    `json:"sha256"`
	Registered     time.Time `json:"registered"`
	Receipt        uint64    `json:"receipt"`
}

// Contracts is the answer to GET /v1/contracts.
type Contracts struct {
	Contracts []Contract `json:"contracts"`
}
