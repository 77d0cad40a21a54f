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

// TestCheckPublicValue: values that look like a date of birth, an
// identity number or a street address are refused; the codes the
// registries hold are not.
func TestCheckPublicValue(t *testing.T) {
	for _, v := range []string{"maria-gonzalez-1980", "ssn-123-45-6789", "123-45-6789", "born-1975-03-02", "02.03.1975", "john-12/05/80",
		"id-4471239", "12-main-street", "hauptstrasse-7", "7-rue-de-rivoli", "42 Elm St",
		"Hauptstr.5", "Hauptstr5", "12.345.678", "12_345_678", "id 123 456 78"} {
		if err := ombud.CheckPublicValue("name", v); err == nil {
			t.Errorf("%q: accepted", v)
		}
	}
	for _, v := range []string{"vendor-x-frs", "facematch", "4.2.1", "2.0", "court.example/district-3", "ocds-abc123-2026-17", "fria-2026-07",
		"nist-frte-1n-2026-10", "anpr-v2", "vendor-y-datasheet", "model-2024.1", "plate-reader", "court.example/d3"} {
		if err := ombud.CheckPublicValue("name", v); err != nil {
			t.Errorf("%q: %v", v, err)
		}
	}
}
