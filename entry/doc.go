// Package entry defines ombud's transparency-log entries: the envelope
// (docs/LOG-FORMAT.md), one typed body per kind (kinds.go), the encoder,
// and the one rule that accepts or refuses a leaf, shared by Parse and by
// the Reader that the report and the auditor use to read whole logs.
//
// Public fields hold only codes, numbers and booleans, and refs only keyed
// pseudonyms: nothing personal can reach the public log through an entry
// (docs/INVARIANTS.md, I4).
package entry
