package ombud_test

import (
	"testing"

	"github.com/ombud/ombud"
)

func TestValidateText(t *testing.T) {
	for _, s := range []string{
		"I was at work that day.\r\nAsk my employer.\tThanks",
		"Je n’étais pas là\u00a0!", // a no-break space
		"שלום, I was not there", "می\u200cخواهم", "👩\u200d👩\u200d👧",
	} {
		if err := ombud.ValidateText("statement", s); err != nil {
			t.Errorf("%q refused: %v", s, err)
		}
	}
	for _, s := range []string{
		"I agree\u202e.tneserp ton saw I", // right-to-left override
		"\u2066isolated\u2069", "a\u200fb", "a\u061cb", "a\u200bb", "a\x00b", "a\x1bb", "a\u0085b", "\xff",
	} {
		if err := ombud.ValidateText("statement", s); ombud.ErrorCode(err) != ombud.CodeInvalid {
			t.Errorf("%q: %v, want refused", s, err)
		}
	}
}
