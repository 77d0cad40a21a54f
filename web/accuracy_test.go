package web

import (
	"testing"

	"github.com/ombud/ombud"
)

// TestPublishedAccuracy: a rate a version did not publish is said to be
// unpublished, never shown as 0.
func TestPublishedAccuracy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a    ombud.Accuracy
		want string
	}{
		{ombud.Accuracy{FPIR: 0.003, FNIR: 0.021}, "FPIR 0.003, FNIR 0.021"},
		{ombud.Accuracy{FNIR: 0.02}, "FNIR 0.02 (FPIR not published)"},
		{ombud.Accuracy{FMR: 1e-4}, "FMR 0.0001 (FNMR not published)"},
		{ombud.Accuracy{Threshold: 0.9}, "not published"},
	} {
		if got := publishedAccuracy(tc.a); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.a, got, tc.want)
		}
	}
}
