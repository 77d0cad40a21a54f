// Package reason holds the stable codes of refusals and of the grounds of
// decisions. A refusal answers with its reason (the error body's
// "reason", the Ombud-Reason header) and a logged decision carries the
// same one in its entry's reasons: a public field, so always one of these
// codes, never free text. Once published a reason is never renamed;
// docs/API.md and docs/AUTHORIZATION.md say when each is given, and a
// test keeps every one of them there.
package reason

// Scope reasons: why a registered authorization does not cover a read.
const (
	AuthMissing      = "authorization_required"
	AuthUnknown      = "authorization_unknown"
	AuthRevoked      = "authorization_revoked"
	AuthNotYetValid  = "authorization_not_yet_valid"
	AuthExpired      = "authorization_expired"
	AuthPurpose      = "purpose_not_covered"
	AuthClass        = "class_not_covered"
	AuthSubject      = "subject_not_covered"
	AuthJurisdiction = "jurisdiction_not_covered"
	AuthExhausted    = "authorization_exhausted"
	AuthInScope      = "authorization_in_scope"
)

// The reasons of refusals and denials about runs. Each is a stable code:
// the API answers it as the error's reason, and a decision on an object
// logs it in the access entry.
const (
	// VersionRetired: the run names a retired version.
	VersionRetired = "version_retired"
	// VersionUnknown: the run names a system or version not
	// registered.
	VersionUnknown = "version_unknown"
	// ClassNotAllowed: an object's class is not one the system may
	// process.
	ClassNotAllowed = "class_not_allowed"
	// ObjectErased: an object in the set is erased.
	ObjectErased = "object_erased"
	// ObjectUnknown: an object in the set does not exist.
	ObjectUnknown = "object_unknown"
	// RunTimeLimit: the run is past its time limit.
	RunTimeLimit = "run_time_limit"
	// RunClosed: the run is closed.
	RunClosed = "run_closed"
	// InRun: a read permitted as part of a run.
	InRun = "in_run"
	// StarterDisabled: the principal who started the run was
	// disabled, which ends its reading.
	StarterDisabled = "starter_disabled"
	// SystemMismatch: a system principal named another system.
	SystemMismatch = "system_mismatch"
)

// Reasons of refused flags.
const (
	// InputNotRead: a flag's input was not read in its run.
	InputNotRead = "input_not_read"
	// AlreadyReviewed: the reviewer reviewed the flag before.
	AlreadyReviewed = "already_reviewed"
	// NotIndependent: the reviewer raised the flag or started its
	// run.
	NotIndependent = "reviewer_not_independent"
	// FlagUnknown: no such flag.
	FlagUnknown = "flag_unknown"
	// NotEnoughConfirmations: the policy needs more distinct
	// confirmations before an action.
	NotEnoughConfirmations = "not_enough_confirmations"
	// FlagRejected: a reviewer rejected the flag, which closes it:
	// no review or action follows a rejection.
	FlagRejected = "flag_rejected"
	// EvidenceNotViewed: a confirmation from a reviewer who has not
	// viewed every input of the flag (their logged viewings).
	EvidenceNotViewed = "evidence_not_viewed"
	// BelowThreshold: a flag whose score is below its own
	// threshold, from a system whose task does not produce investigative
	// candidate lists.
	BelowThreshold = "below_threshold"
	// FlagActed: an action was taken on the flag already; a flag
	// has one action, and none after it is reviewed again.
	FlagActed = "flag_acted"
	// FlagDuplicate: the run flagged the same match (the same
	// inputs and candidates) already.
	FlagDuplicate = "flag_duplicate"
	// ReferenceInvalid: a flag names a reference image that is not
	// a live object of a candidate its run's authorization names. (A
	// reference image, like an input, must have been read in the run.)
	ReferenceInvalid = "reference_invalid"
	// ReviewsChanged: a review of the flag was recorded while the
	// action was being decided.
	ReviewsChanged = "reviews_changed"
	// NoticeUnknown: no action has this notice code. It says
	// nothing else: a wrong code and a code of another deployment look
	// the same.
	NoticeUnknown = "notice_unknown"
	// ContestUnknown: no such contest.
	ContestUnknown = "contest_unknown"
	// ContestResolved: the contest is resolved already.
	ContestResolved = "contest_resolved"
	// ContestFiled: the action was contested already; the
	// contest's status is shown instead.
	ContestFiled = "contest_filed"
	// NotEvidence: a viewing for review of an object that is not
	// evidence of the flag, or by a reader who may not review it.
	NotEvidence = "not_evidence"
	// ReviewDone: the reader has no open task on the flag: they
	// reviewed it, or an action was taken and no contest of it awaits
	// them.
	ReviewDone = "review_done"
	// ReviewWindowClosed: the flag's review window, or its run's
	// authorization's, has closed.
	ReviewWindowClosed = "review_window_closed"
)

// Reasons of denials custody decides itself.
const (
	NotFound = "not_found"
	Erased   = "erased"
	// SystemOutsideRun: a system principal read outside a run.
	SystemOutsideRun = "system_outside_run"
	Range            = "range_not_satisfiable"
	Integrity        = "integrity_failure"
	Unavailable      = "object_unavailable"
	KeyUnavailable   = "key_unavailable"
)

// Grounds and refusals of the access decision.
const (
	// Emergency marks a permit under emergency access.
	Emergency = "emergency"
	// Evidence: a permitted viewing of a flag's evidence by a reviewer.
	Evidence = "review_evidence"
	// EmergencySuspended: the principal's emergency access is suspended
	// after a breach.
	EmergencySuspended = "emergency_suspended"
	// PolicyDenied: the access policy does not permit it.
	PolicyDenied = "policy_denied"
)

// Refusals of a run's start.
const (
	// TooManyObjects: a selection holds more objects than a run may read.
	TooManyObjects = "too_many_objects"
)

// Refusals of an export, and the reason of a read in one.
const (
	// InExport: an object read in an export, decided with the export.
	InExport = "in_export"
	// RecipientUnknown: the export names no registered recipient.
	RecipientUnknown = "recipient_unknown"
	// RecipientRetired: the export names a retired recipient.
	RecipientRetired = "recipient_retired"
	// ShareScopeMissing: a class that leaves only under a sharing scope,
	// and the authorization has none.
	ShareScopeMissing = "share_scope_missing"
	// ShareScopeOther: the authorization's sharing scope names other
	// recipients.
	ShareScopeOther = "share_scope_other_recipient"
	// TransferScopeMissing: the recipient's jurisdiction is outside the
	// deployment's, and the authorization's transfer scope does not name
	// it.
	TransferScopeMissing = "transfer_scope_missing"
	// ClassNotExportable: the class's export rule is deny.
	ClassNotExportable = "class_not_exportable"
)

// Refusals of the whistleblower intake.
const (
	// TipPending: the oversight body answers a tip whose filing is not in
	// the log yet; it is, after the next day's batch.
	TipPending = "tip_pending"
	// CodenameWrong: the codename opens no tip here. The same answer
	// whatever was typed, so that a guess learns nothing.
	CodenameWrong = "codename_wrong"
)
