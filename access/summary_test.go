package access_test

import (
	"slices"
	"testing"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/access"
)

// TestSummarizeAppliesOmbudsOwnChecks: under a policy that permits
// everything, the summary still says a sensitive class needs an
// authorization (ombud refuses before the policy), that runs never read
// it without one, that other roles may read, and that actions need no
// review; under the default policy, none of that.
func TestSummarizeAppliesOmbudsOwnChecks(t *testing.T) {
	t.Parallel()
	classes := []ombud.Class{{Name: "biometric", Sensitivity: ombud.Sensitive}, {Name: "general", Sensitivity: ombud.Ordinary}}
	purposes, kinds := []string{"criminal_investigation", "audit_sample"}, []string{"court_order", "warrant"}
	open, err := access.ParsePolicy([]byte(`permit (principal, action, resource);`))
	if err != nil {
		t.Fatal(err)
	}
	s := access.Summarize(open, classes, purposes, kinds)
	bio, gen := s.Classes[0], s.Classes[1]
	if !bio.Analyst.Plain.Never() || !bio.Run.Plain.Never() || !bio.Analyst.Authorized.All || !bio.Analyst.Emergency.All {
		t.Errorf("permit-all, biometric: %+v", bio)
	}
	if !gen.Analyst.Plain.All || !gen.Analyst.Emergency.Never() || !gen.Evidence {
		t.Errorf("permit-all, general: %+v", gen)
	}
	if !slices.Equal(s.Others, []string{"admin", "ingestor", "auditor"}) {
		t.Errorf("permit-all, other roles: %v", s.Others)
	}
	for _, r := range s.Act {
		if r.Confirmations != 0 || r.Biometric != 0 || r.RejectionBlocks {
			t.Errorf("permit-all, action %+v", r)
		}
	}

	def, err := access.ParsePolicy([]byte(access.DefaultPolicy))
	if err != nil {
		t.Fatal(err)
	}
	s = access.Summarize(def, classes, purposes, kinds)
	bio, gen = s.Classes[0], s.Classes[1]
	if !bio.Analyst.Authorized.All || !bio.Analyst.Wildcard.Never() || !bio.Analyst.Emergency.Never() || !bio.Run.Authorized.All || !gen.Analyst.Plain.All {
		t.Errorf("default: %+v %+v", bio, gen)
	}
	if len(s.Others) != 0 {
		t.Errorf("default, other roles: %v", s.Others)
	}
	for _, r := range s.Act {
		if r.Confirmations != 2 || r.Biometric != 2 || !r.RejectionBlocks {
			t.Errorf("default, action %+v", r)
		}
	}
}
