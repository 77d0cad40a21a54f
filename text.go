package ombud

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ValidateText checks free text a person writes for another to read (a
// contest's statement, a reviewer's rationale): UTF-8 holding what a name
// may (printable), and the line breaks, tabs, spaces and joiners of
// running text. Bidirectional controls and other format or control
// characters are refused: they could show a reader the text reordered or
// hidden, unlike what was written.
func ValidateText(what, s string) error {
	if !utf8.ValidString(s) {
		return Errorf(CodeInvalid, "%s: must be UTF-8", what)
	}
	for _, r := range s {
		if !textRune(r) {
			return Errorf(CodeInvalid, "%s: bidirectional controls (such as U+202E) and other control or format characters are not allowed; remove them and send again", what)
		}
	}
	return nil
}

func textRune(r rune) bool {
	switch r {
	case '\n', '\r', '\t',
		'\u200c', '\u200d': // the zero-width non-joiner and joiner that some scripts and emoji need
		return true
	}
	return printable(r) || unicode.Is(unicode.Zs, r)
}

// Public values that are not registered codes (an issuer's name, an
// analytic system's name, vendor, model, version, contract, impact
// assessment and accuracy source) go into the public log, which keeps
// them for ever. CheckPublicValue refuses one that looks like personal
// data: a date of birth (a full date, or a year of the 1900s), an
// identity number (a US social security number's shape, or seven digits
// or more in a row, alone or grouped by dots or spaces) or a street address (a house number beside a street
// word). It errs on the side of refusing: a value it refuses can be
// spelled otherwise, a value published cannot be taken back.
func CheckPublicValue(what, v string) error {
	lower := strings.ToLower(v)
	switch {
	case fullDate.MatchString(v), birthYear.MatchString(v):
		return Errorf(CodeInvalid, "%s looks like it holds a date of birth (a date, or a year from 1900 to 1999); it is published in the log for ever: choose a value that names no person", what)
	case ssnShape.MatchString(v), longDigits.MatchString(v), strings.Contains(lower, "ssn"):
		return Errorf(CodeInvalid, "%s looks like it holds an identity number (seven digits or more in a row, or spaced or dotted, or an SSN's shape); it is published in the log for ever: choose a value that names no person", what)
	case houseNumber.MatchString(v) && (streetWord.MatchString(lower) || streetSuffix.MatchString(lower)):
		return Errorf(CodeInvalid, "%s looks like it holds a street address (a number beside a street word); it is published in the log for ever: choose a value that names no person", what)
	}
	return nil
}

var (
	fullDate    = regexp.MustCompile(`(^|[^0-9])([0-9]{4}[-./][0-9]{1,2}[-./][0-9]{1,2}|[0-9]{1,2}[-./][0-9]{1,2}[-./][0-9]{2,4})([^0-9]|$)`)
	birthYear   = regexp.MustCompile(`(^|[^0-9.])19[0-9]{2}([^0-9.]|$)`)
	ssnShape    = regexp.MustCompile(`[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}`)
	longDigits  = regexp.MustCompile(`[0-9]([._ ]?[0-9]){6,}`)
	houseNumber = regexp.MustCompile(`(^|[^0-9])[0-9]{1,5}[a-zA-Z]?([^0-9]|$)`)
	// streetSuffix ends compound street names (Hauptstraße, Kirchweg).
	streetSuffix = regexp.MustCompile(`(strasse|straße|str\.?|weg|gasse|platz|allee|laan|straat|gatan|vej)([^a-z]|$)`)
	streetWord   = regexp.MustCompile(`(^|[^a-z])(street|st|avenue|ave|road|rd|lane|ln|boulevard|blvd|drive|dr|way|strasse|straße|str|weg|gasse|platz|allee|rue|via|viale|calle|avenida|rua|plaza|laan|straat|gatan|vej)([^a-z]|$)`)
)
