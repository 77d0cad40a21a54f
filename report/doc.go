// Package report computes ombud's transparency report of a period as one
// pure function of the log's leaves (Compute, or a Builder fed leaf by
// leaf), so that the server that publishes it (package publish) and every
// auditor who recomputes it from the public log get the same bytes. Small
// counts are published as a band (1 to DefaultBand) so that no small group
// of people can be singled out. In auditor mode (Builder.AddDetail) it also
// counts what became of the private detail records, exactly, for the
// auditor alone. It does no I/O.
package report
