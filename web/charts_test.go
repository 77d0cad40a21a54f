package web

import (
	"strings"
	"testing"

	"github.com/ombud/ombud/report"
)

// TestChartsEscapeAndBand: labels are escaped, and a banded count is
// drawn at mid-band in the band colour and labelled as the band.
func TestChartsEscapeAndBand(t *testing.T) {
	t.Parallel()
	svg := string(BarChart("c", "t<", "d&", []Bar{{`<script>x</script>`, report.Count{N: 3, Band: 9}}, {"ten", report.Count{N: 10, Band: 9}}}))
	if strings.Contains(svg, "<script>") || !strings.Contains(svg, "&lt;script&gt;") || !strings.Contains(svg, "t&lt;") {
		t.Fatalf("not escaped: %s", svg)
	}
	if !strings.Contains(svg, `fill="`+colBand+`"`) || !strings.Contains(svg, ">1-9<") || strings.Contains(svg, ">3<") {
		t.Fatalf("a count of 3 is not drawn as the band: %s", svg)
	}
	p, _ := report.ParsePeriod("2026-11")
	r := &report.Report{Period: p, Band: 9, Daily: []report.DayRow{{Date: `2026-11-02"><x`, Permits: report.Count{N: 12, Band: 9}, Denials: report.Count{N: 2, Band: 9}}}}
	svg = string(TimeChart("d", "t", "d", r))
	if strings.Contains(svg, `"><x`) {
		t.Fatalf("date not escaped: %s", svg)
	}
	r.Daily[0].Date = "2026-11-02"
	svg = string(TimeChart("d", "t", "d", r))
	if n := strings.Count(svg, "<rect"); n != 2 {
		t.Fatalf("%d columns drawn for one day with decisions, want 2 rects", n)
	}
	if !strings.Contains(svg, "2026-11-01") || !strings.Contains(svg, "2026-11-30") {
		t.Fatal("the axis does not span the period")
	}
}
