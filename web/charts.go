package web

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/ombud/ombud/report"
)

// Colours of the charts: each has at least 3:1 contrast against white
// (WCAG 1.4.11, non-text contrast); text in the charts is #1a1a1a.
const (
	colPermit = "#1f5f8b"
	colDeny   = "#b34700"
	colBand   = "#6f6f6f"
	colText   = "#1a1a1a"
	colAxis   = "#595959"
)

// Bar is one bar of a chart.
type Bar struct {
	Label string
	Count report.Count
}

// height is what a count is drawn as: a band is drawn at its middle, in
// the band colour, so the chart reveals no more than the number does.
func height(c report.Count) float64 {
	if c.Banded() {
		return float64(c.Band+1) / 2
	}
	return float64(c.N)
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// BarChart draws horizontal bars with their labels and counts. The chart
// is an image with a title and a description for screen readers; the page
// also shows the same numbers as a table.
func BarChart(id, title, desc string, bars []Bar) template.HTML {
	if len(bars) == 0 {
		return template.HTML(`<p>Nothing in this period.</p>`)
	}
	const labelW, barW, rowH, top = 300.0, 280.0, 28.0, 8.0
	maxV := 1.0
	for _, b := range bars {
		maxV = max(maxV, height(b.Count))
	}
	h := top*2 + rowH*float64(len(bars))
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 %.0f" width="100%%" role="img" aria-labelledby="%s-t %s-d">`, h, id, id)
	fmt.Fprintf(&s, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, esc(title), id, esc(desc))
	for i, b := range bars {
		y := top + rowH*float64(i)
		w := barW * height(b.Count) / maxV
		fill := colPermit
		if b.Count.Banded() {
			fill = colBand
		}
		label := b.Label
		if len(label) > 44 {
			label = label[:43] + "…"
		}
		fmt.Fprintf(&s, `<text x="%.0f" y="%.1f" text-anchor="end" font-size="13" fill="%s">%s</text>`, labelW-8, y+rowH/2+4, colText, esc(label))
		fmt.Fprintf(&s, `<rect x="%.0f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, labelW, y+4, max(w, 1), rowH-8, fill)
		fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" font-size="13" fill="%s">%s</text>`, labelW+max(w, 1)+6, y+rowH/2+4, colText, esc(b.Count.String()))
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String())
}

// TimeChart draws each day of the report's period as a column: permits
// below, denials stacked above. Days without decisions stay empty, so the
// chart shows when nothing happened too.
func TimeChart(id, title, desc string, r *report.Report) template.HTML {
	if len(r.Daily) == 0 {
		return template.HTML(`<p>No access decisions in this period.</p>`)
	}
	byDate := make(map[string]report.DayRow, len(r.Daily))
	for _, d := range r.Daily {
		byDate[d.Date] = d
	}
	var days []report.DayRow
	for t := r.Period.Start; t.Before(r.Period.End) && len(days) < 5000; t = t.AddDate(0, 0, 1) {
		date := t.Format(time.DateOnly)
		d, ok := byDate[date]
		if !ok {
			d = report.DayRow{Date: date, Permits: report.Count{Band: r.Band}, Denials: report.Count{Band: r.Band}}
		}
		days = append(days, d)
	}
	const left, right, top, plotH, W = 48.0, 12.0, 10.0, 170.0, 640.0
	maxV := 1.0
	for _, d := range days {
		maxV = max(maxV, height(d.Permits)+height(d.Denials))
	}
	colW := (W - left - right) / float64(len(days))
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="100%%" role="img" aria-labelledby="%s-t %s-d">`, W, top+plotH+34, id, id)
	fmt.Fprintf(&s, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, esc(title), id, esc(desc))
	base := top + plotH
	fmt.Fprintf(&s, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s"/>`, left, base, W-right, base, colAxis)
	fmt.Fprintf(&s, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s"/>`, left, top, left, base, colAxis)
	fmt.Fprintf(&s, `<text x="%.0f" y="%.0f" text-anchor="end" font-size="12" fill="%s">%.0f</text>`, left-6, top+10, colText, maxV)
	fmt.Fprintf(&s, `<text x="%.0f" y="%.0f" text-anchor="end" font-size="12" fill="%s">0</text>`, left-6, base, colText)
	for i, d := range days {
		if d.Permits.N == 0 && d.Denials.N == 0 {
			continue
		}
		x := left + colW*float64(i) + colW*0.1
		w := max(colW*0.8, 1)
		hp := plotH * height(d.Permits) / maxV
		hd := plotH * height(d.Denials) / maxV
		fp, fd := colPermit, colDeny
		if d.Permits.Banded() {
			fp = colBand
		}
		if d.Denials.Banded() {
			fd = colBand
		}
		fmt.Fprintf(&s, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %s permitted</title></rect>`, x, base-hp, w, hp, fp, esc(d.Date), d.Permits)
		fmt.Fprintf(&s, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %s denied</title></rect>`, x, base-hp-hd, w, hd, fd, esc(d.Date), d.Denials)
	}
	fmt.Fprintf(&s, `<text x="%.0f" y="%.0f" font-size="12" fill="%s">%s</text>`, left, base+18, colText, esc(days[0].Date))
	if len(days) > 1 {
		fmt.Fprintf(&s, `<text x="%.0f" y="%.0f" text-anchor="end" font-size="12" fill="%s">%s</text>`, W-right, base+18, colText, esc(days[len(days)-1].Date))
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String())
}
