package web

import "strings"

// diffLine is one line of a line diff: Op is " " (in both), "-" (only in
// the old text) or "+" (only in the new); a run of unchanged lines far
// from any change is folded into one line with Skipped set.
type diffLine struct {
	Op      string
	Text    string
	Old     int // its line number in the old text (0 for an added line)
	New     int // its line number in the new text (0 for a removed line)
	Skipped int
}

// maxDiffCells bounds the work of a diff (lines of the old text times
// lines of the new); beyond it the whole old text is shown removed and
// the whole new one added, which is still exactly the change.
const maxDiffCells = 4_000_000

// diffContext is how many unchanged lines stand around a change.
const diffContext = 3

// lineDiff is the line diff that turns old into new along a longest
// common subsequence of their lines, with unchanged runs folded.
func lineDiff(old, new string) []diffLine {
	a, b := splitLines(old), splitLines(new)
	var out []diffLine
	if len(a)*len(b) > maxDiffCells {
		for i, l := range a {
			out = append(out, diffLine{Op: "-", Text: l, Old: i + 1})
		}
		for j, l := range b {
			out = append(out, diffLine{Op: "+", Text: l, New: j + 1})
		}
		return out
	}
	// lcs[i][j] is the length of a longest common subsequence of a[i:]
	// and b[j:], in one slice.
	w := len(b) + 1
	lcs := make([]int32, (len(a)+1)*w)
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
			} else {
				lcs[i*w+j] = max(lcs[(i+1)*w+j], lcs[i*w+j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			out = append(out, diffLine{Op: " ", Text: a[i], Old: i + 1, New: j + 1})
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[(i+1)*w+j] >= lcs[i*w+j+1]):
			// A removal before the addition that replaces it, as diffs read.
			out = append(out, diffLine{Op: "-", Text: a[i], Old: i + 1})
			i++
		default:
			out = append(out, diffLine{Op: "+", Text: b[j], New: j + 1})
			j++
		}
	}
	return fold(out)
}

// fold replaces each run of unchanged lines farther than diffContext
// from a change by one line saying how many it skipped.
func fold(lines []diffLine) []diffLine {
	near := make([]bool, len(lines))
	for i, l := range lines {
		if l.Op == " " {
			continue
		}
		for k := max(0, i-diffContext); k <= min(len(lines)-1, i+diffContext); k++ {
			near[k] = true
		}
	}
	var out []diffLine
	for i := 0; i < len(lines); {
		if lines[i].Op != " " || near[i] {
			out = append(out, lines[i])
			i++
			continue
		}
		n := 0
		for i < len(lines) && lines[i].Op == " " && !near[i] {
			n, i = n+1, i+1
		}
		out = append(out, diffLine{Op: " ", Skipped: n})
	}
	return out
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// changed reports whether d has any line added or removed.
func changed(d []diffLine) bool {
	for _, l := range d {
		if l.Op != " " {
			return true
		}
	}
	return false
}
