// Package vocab holds the registered vocabularies. Every code ombud
// publishes in a public field comes from a vocabulary registered in the
// configuration (docs/INVARIANTS.md, I4): a code a user sends that is not
// registered is refused, so free text, names or identifiers cannot reach
// the public log by way of a code field.
package vocab

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
)

// Name names a vocabulary.
type Name string

// The vocabularies.
const (
	Purpose         Name = "purpose"
	HoldReason      Name = "hold_reason"
	EraseReason     Name = "erase_reason"
	RevokeReason    Name = "revoke_reason"
	EmergencyReason Name = "emergency_reason"
	Region          Name = "region"
	Jurisdiction    Name = "jurisdiction"
	ReferenceDB     Name = "reference_db"
	// RecipientCategory names what kind of body a recipient of exports
	// is.
	RecipientCategory Name = "recipient_category"
)

// Names lists the vocabularies in the order the disclosure page shows
// them.
var Names = []Name{Purpose, HoldReason, EraseReason, RevokeReason, EmergencyReason, Region, Jurisdiction, ReferenceDB, RecipientCategory}

// Title is a vocabulary's name for people.
func (n Name) Title() string {
	switch n {
	case Purpose:
		return "Purposes of a read"
	case HoldReason:
		return "Reasons for a legal hold and its release"
	case EraseReason:
		return "Reasons for an erasure ordered by an admin"
	case RevokeReason:
		return "Reasons for revoking an authorization"
	case EmergencyReason:
		return "Reasons for emergency access"
	case Region:
		return "Storage regions"
	case Jurisdiction:
		return "Jurisdictions"
	case ReferenceDB:
		return "Reference databases automated matches are made against"
	case RecipientCategory:
		return "Categories of the bodies exports may go to"
	}
	return string(n)
}

// Code is one registered code and what it means.
type Code struct {
	Code        string `toml:"code" json:"code"`
	Description string `toml:"description" json:"description"`
}

// Vocabulary holds the registered codes of each vocabulary.
type Vocabulary map[Name][]Code

// JurisdictionPlaceholder is the jurisdiction of a deployment that was not
// given one (ombud init --jurisdiction). It covers no real jurisdiction:
// only an authorization for the placeholder itself covers it.
const JurisdictionPlaceholder = "ZZ"

// DefaultEmergencyDeadline is how long an emergency read may stay
// uncovered by an authorization (EU AI Act Art. 26(10)): the default of
// the configuration, of the custody service and of the auditor.
const DefaultEmergencyDeadline = 48 * time.Hour

// System reasons: codes ombud itself writes, never a user. They are part of
// the erase vocabulary's documentation but cannot be given by an admin.
var SystemEraseReasons = []Code{
	{ombud.EraseRetention, "The class's retention period ended and the object was not on legal hold."},
	{ombud.EraseIngestUnacknowledged, "An ingest was logged but its client was never told (a crash before the answer); the object is discarded."},
}

// PurposeReview is the purpose of a reviewer's viewing of a flag's
// evidence: a code ombud itself gives, never a user, and only to a read
// that names the flag.
const PurposeReview = "review"

// SystemPurposes are the purposes ombud itself gives.
var SystemPurposes = []Code{
	{PurposeReview, "A reviewer viewing the evidence of an automated match (its inputs and the candidates' reference images) before confirming or rejecting it."},
}

// Default is the vocabulary of a deployment whose configuration
// registers none. Each code is a category, never a person or a case.
func Default() Vocabulary {
	return Vocabulary{
		Purpose: {
			{"audit_sample", "Reading a sample of records to check their quality or the controller's compliance."},
			{"criminal_investigation", "Investigating a specific criminal offence, under a legal authorization."},
			{"missing_person", "Locating a person reported missing."},
			{"public_safety", "Averting an immediate threat to life or public safety."},
			{"mutual_legal_assistance", "Answering a request from another state's authority under a treaty."},
			{"subject_access_request", "Answering a data subject's request for their own data."},
			{"oversight_inspection", "An inspection by an oversight or supervisory body."},
			{"litigation", "Producing records in court proceedings."},
		},
		HoldReason: {
			{"litigation", "Records must be preserved for pending or expected court proceedings."},
			{"investigation", "Records must be preserved for an ongoing investigation."},
			{"preservation_order", "A court or authority ordered the records preserved."},
			{"audit", "Records must be preserved for an audit."},
			{"case_closed", "Release: the proceedings or investigation ended."},
			{"order_lifted", "Release: the preservation order was lifted."},
		},
		EraseReason: {
			{ombud.EraseCourtOrder, "A court ordered the records erased."},
			{ombud.EraseControllerOrder, "The data controller decided to erase the records before their retention ended."},
			{ombud.EraseAuthRefused, "The authorization the records were collected under was refused."},
			{"subject_request", "The data subject asked for erasure and the controller granted it."},
		},
		RevokeReason: {
			{"order_quashed", "A court quashed the order."},
			{"issued_in_error", "The issuer withdrew an authorization issued in error."},
			{"case_closed", "The case the authorization was issued for is closed."},
			{"scope_replaced", "A new authorization with another scope replaces it."},
		},
		EmergencyReason: {
			{"missing_person", "A person is missing and may be in danger."},
			{"imminent_threat", "There is an imminent threat to life or limb."},
		},
		Region: {
			{"eu-central", "European Union, central."},
			{"eu-west", "European Union, west."},
			{"eu-north", "European Union, north."},
			{"us-east", "United States, east."},
			{"us-west", "United States, west."},
		},
		ReferenceDB: {
			{"watchlist", "A list of persons sought, kept by the controller under its legal basis."},
			{"custody_images", "Images taken of persons in custody."},
			{"missing_persons", "Images of persons reported missing, given by their families or the authorities."},
			{"wanted_vehicles", "Registration plates of vehicles sought."},
		},
		RecipientCategory: {
			{"agency", "A public agency of the deployment's own jurisdiction, such as another police force."},
			{"court", "A court or tribunal."},
			{"foreign_authority", "An authority of another state, under a treaty or mutual legal assistance."},
			{"vendor", "A company processing data on the controller's behalf."},
			{"other", "Any other body; the authorization names it."},
		},
		Jurisdiction: {
			{JurisdictionPlaceholder, "Placeholder of a deployment without a jurisdiction: it covers no real jurisdiction."},
			{"EU", "The European Union."},
			{"EU-AT", "Austria."}, {"EU-BE", "Belgium."}, {"EU-DE", "Germany."}, {"EU-DK", "Denmark."},
			{"EU-ES", "Spain."}, {"EU-FI", "Finland."}, {"EU-FR", "France."}, {"EU-IE", "Ireland."},
			{"EU-IT", "Italy."}, {"EU-NL", "The Netherlands."}, {"EU-PL", "Poland."}, {"EU-PT", "Portugal."},
			{"EU-SE", "Sweden."},
			{"GB", "The United Kingdom."},
			{"US", "The United States (federal)."},
			{"US-CA", "California."}, {"US-NY", "New York."}, {"US-TX", "Texas."},
		},
	}
}

// Has reports whether code is registered in vocabulary name.
func (v Vocabulary) Has(name Name, code string) bool {
	return slices.ContainsFunc(v[name], func(c Code) bool { return c.Code == code })
}

// Codes lists the codes of vocabulary name.
func (v Vocabulary) Codes(name Name) []string {
	out := make([]string, len(v[name]))
	for i, c := range v[name] {
		out[i] = c.Code
	}
	return out
}

// Check refuses a code that vocabulary name does not register, with an
// error that names the allowed codes. what names the input ("purpose",
// "Ombud-Region"). The refused value is not repeated: it may be personal.
func (v Vocabulary) Check(name Name, what, code string) error {
	if v.Has(name, code) {
		return nil
	}
	if code == "" {
		return ombud.Errorf(ombud.CodeInvalid, "%s is required: one of %s", what, strings.Join(v.Codes(name), ", "))
	}
	return ombud.Errorf(ombud.CodeInvalid, "%s is not a registered %s code; use one of %s (the disclosure page explains each)", what, strings.ReplaceAll(string(name), "_", " "), strings.Join(v.Codes(name), ", "))
}

// Validate checks a vocabulary: every code is a code (and, for regions and
// jurisdictions, shaped like one), none twice, each described.
func (v Vocabulary) Validate() error {
	for name, codes := range v {
		if !slices.Contains(Names, name) {
			return fmt.Errorf("vocabulary %q: unknown (want one of %v)", name, Names)
		}
		if len(codes) == 0 {
			return fmt.Errorf("vocabulary %s: no codes", name)
		}
		seen := map[string]bool{}
		for _, c := range codes {
			if !vocabCodeOK(name, c.Code) {
				return fmt.Errorf("vocabulary %s: %.40q is not a code (%s)", name, c.Code, vocabShape(name))
			}
			if seen[c.Code] {
				return fmt.Errorf("vocabulary %s: %q given twice", name, c.Code)
			}
			seen[c.Code] = true
			if c.Description == "" || len(c.Description) > 300 || !utf8.ValidString(c.Description) || strings.ContainsAny(c.Description, "\n\r") {
				return fmt.Errorf("vocabulary %s: code %s needs a one-line description of at most 300 bytes", name, c.Code)
			}
		}
	}
	return nil
}

func vocabShape(name Name) string {
	switch name {
	case Jurisdiction:
		return "A-Z and digits, parts joined by '-', like EU-DE"
	case Region:
		return "a-z and digits, parts joined by '-', like eu-central"
	}
	return "a-z, digits and '_', like criminal_investigation"
}

// vocabCodeOK: a registered code is a code (entry.IsCode, the one rule)
// of at most 64 bytes, in its vocabulary's shape.
func vocabCodeOK(name Name, s string) bool {
	if !entry.IsCode(s) || len(s) > 64 {
		return false
	}
	switch name {
	case Jurisdiction:
		for _, part := range strings.Split(s, "-") {
			if part == "" || strings.Trim(part, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
				return false
			}
		}
		return true
	case Region:
		for _, part := range strings.Split(s, "-") {
			if part == "" || strings.Trim(part, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
				return false
			}
		}
		return true
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == "" && s[0] != '_'
}
