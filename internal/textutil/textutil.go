// Package textutil holds small string helpers shared by ombud's packages.
package textutil

// Truncate returns s cut to n bytes with an ellipsis, for quoting input in
// error messages without echoing all of it.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
