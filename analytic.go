package ombud

import "time"

// Tasks are what a registered analytic system does.
// face_investigation is a 1:N search that returns an investigative
// candidate list for a human examiner (NIST FRTE's investigation mode):
// its candidates may score below the threshold.
var Tasks = []string{"face_identification", "face_investigation", "face_verification", "plate_reading", "object_detection", "transcription", "translation", "other"}

// IsBiometricTask reports whether a task identifies or verifies people by
// their biometrics: such a system needs a fundamental-rights impact
// assessment (EU AI Act Art. 27) before it is registered.
func IsBiometricTask(task string) bool {
	return task == "face_identification" || task == "face_investigation" || task == "face_verification"
}

// ListsCandidates reports whether a task produces investigative candidate
// lists, whose flags may score below their threshold. Every other
// system's flag must reach its own threshold.
func ListsCandidates(task string) bool { return task == "face_investigation" }

// AnalyticSystem is a registered analytic system: public information.
type AnalyticSystem struct {
	ID               string
	Name             string
	Vendor           string
	Task             string
	Classes          []string // the data classes it may process
	ImpactAssessment string   // a reference, as a code
	Contract         string   // the ocid of the registered contract it was bought under
	Registered       time.Time
	Index            uint64
	Versions         []*SystemVersion
}

// SystemVersion is one registered version of an analytic system, with its
// published accuracy at its operating point.
type SystemVersion struct {
	Version    string
	Model      string
	Accuracy   Accuracy
	Registered time.Time
	Index      uint64
	Retired    *time.Time
	RetireIdx  uint64
}

// Accuracy is a version's published accuracy at its threshold, as NIST FRTE
// reports it: FMR and FNMR for 1:1, FPIR and FNIR for 1:N; Source names
// the report, as a code.
type Accuracy struct {
	FMR, FNMR, FPIR, FNIR float64
	Threshold             float64
	Source                string
}

// Version returns the named version, or nil.
func (s *AnalyticSystem) Version(v string) *SystemVersion {
	for _, sv := range s.Versions {
		if sv.Version == v {
			return sv
		}
	}
	return nil
}
