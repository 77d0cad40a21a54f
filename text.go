package ombud

import (
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
