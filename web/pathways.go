package web

import (
	"fmt"
	"html/template"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/ombud/ombud/contracts"
)

// pathway is one step of the procurement pathways drawn: from one party
// to the next, over all contracts, with their count and totals.
type pathway struct {
	from, to string
	n        int
	totals   map[string]float64 // by currency
}

// column places a party in the diagram by its roles: makers on the left,
// the buyers on the right, everyone between in the middle. A reseller
// that buys to sell on (the buyer of a framework contract) stands in the
// middle.
func column(p contracts.Party) int {
	switch {
	case slices.Contains(p.Roles, "vendor"), slices.Contains(p.Roles, "manufacturer"):
		return 0
	case slices.Contains(p.Roles, "reseller"), slices.Contains(p.Roles, "integrator"):
		return 1
	case slices.Contains(p.Roles, "buyer"):
		return 2
	}
	return 1
}

// PathwayDiagram draws how capabilities reach agencies, as inline SVG:
// vendors and manufacturers, then resellers and integrators, then buyers,
// each step an arrow labelled with its contracts and their totals. The
// diagram is an image with a title and a description; the page lists the
// same contracts in a table.
func PathwayDiagram(id string, cs []*contracts.Contract) template.HTML {
	if len(cs) == 0 {
		return template.HTML(`<p>No contract is registered.</p>`)
	}
	names := map[string]string{}
	cols := map[string]int{}
	steps := map[[2]string]*pathway{}
	for _, c := range cs {
		// A party is a node by its id and its name: ids are each
		// release's own, so a party of one contract is another's only
		// if both name it alike, and one contract cannot rename or move
		// another's. Its column is the one the first contract gives it.
		node := map[string]string{}
		for _, p := range c.Parties {
			n := p.ID + "\x00" + p.Name
			node[p.ID] = n
			if _, ok := cols[n]; !ok {
				names[n], cols[n] = p.Name, column(p)
			}
		}
		chain := c.Chain
		if len(chain) == 0 && c.Vendor() != "" && c.Buyer.ID != "" {
			// No chain recorded: bought from the vendor directly.
			chain = []contracts.Link{{From: c.Vendor(), To: c.Buyer.ID}}
		}
		for _, l := range chain {
			l.From, l.To = node[l.From], node[l.To]
			k := [2]string{l.From, l.To}
			st := steps[k]
			if st == nil {
				st = &pathway{from: l.From, to: l.To, totals: map[string]float64{}}
				steps[k] = st
			}
			st.n++
			// A contract's value is what its buyer pays: it counts on
			// the step into the buyer alone, so that a step its chain
			// passes through (another contract's) is not counted twice.
			if c.Currency != "" && l.To == node[c.Buyer.ID] {
				st.totals[c.Currency] += c.Amount
			}
		}
	}
	// Rows per column, in name order.
	rows := map[string]int{}
	var perCol [3][]string
	for _, pid := range slices.Sorted(maps.Keys(cols)) {
		perCol[cols[pid]] = append(perCol[cols[pid]], pid)
	}
	most := 1
	for c := range perCol {
		slices.SortFunc(perCol[c], func(a, b string) int { return strings.Compare(names[a], names[b]) })
		for i, pid := range perCol[c] {
			rows[pid] = i
		}
		most = max(most, len(perCol[c]))
	}
	const colW, boxW, boxH, rowH, top = 300.0, 160.0, 44.0, 110.0, 30.0
	// The last row's boxes, and below them room for the steps that skip
	// the middle column, which dip under the boxes.
	h := top + rowH*float64(most-1) + boxH + 20
	for k := range steps {
		if cols[k[1]]-cols[k[0]] == 2 {
			h += 50
			break
		}
	}
	xy := func(pid string) (float64, float64) {
		return 10 + colW*float64(cols[pid]), top + rowH*float64(rows[pid])
	}
	var s strings.Builder
	var desc []string
	keys := slices.SortedFunc(maps.Keys(steps), func(a, b [2]string) int { return strings.Compare(a[0]+"\x00"+a[1], b[0]+"\x00"+b[1]) })
	for _, k := range keys {
		st := steps[k]
		desc = append(desc, fmt.Sprintf("%s to %s: %s", names[st.from], names[st.to], stepLabel(st)))
	}
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="100%%" role="img" aria-labelledby="%s-t %s-d">`, 2*colW+boxW+20, h, id, id)
	fmt.Fprintf(&s, `<title id="%s-t">Procurement pathways: from vendors through resellers and integrators to the agencies</title><desc id="%s-d">%s</desc>`, id, id, esc(strings.Join(desc, "; ")))
	for _, hdr := range []struct {
		col  int
		text string
	}{{0, "Vendors, manufacturers"}, {1, "Resellers, integrators"}, {2, "Agencies"}} {
		fmt.Fprintf(&s, `<text x="%.0f" y="16" font-size="13" font-weight="bold" fill="%s">%s</text>`, 10+colW*float64(hdr.col), colText, hdr.text)
	}
	for _, k := range keys {
		st := steps[k]
		x1, y1 := xy(st.from)
		x2, y2 := xy(st.to)
		x1 += boxW
		y1 += boxH / 2
		y2 += boxH / 2
		// A step past the middle column (a vendor selling to an agency
		// directly) dips below the boxes between.
		lx, ly := (x1+x2)/2, (y1+y2)/2-18
		if cols[st.to]-cols[st.from] == 2 {
			fmt.Fprintf(&s, `<path d="M%.0f,%.0f C%.0f,%.0f %.0f,%.0f %.0f,%.0f" fill="none" stroke="%s" stroke-width="2"/>`,
				x1, y1, x1+120, y1+80, x2-120, y2+80, x2-6, y2, colPermit)
			// Its label by its start, between the first two columns,
			// where no other step's label is: the steps that skip the
			// middle converge on the buyer.
			lx, ly = x1+(colW-boxW)/2, y1-30
		} else {
			fmt.Fprintf(&s, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s" stroke-width="2"/>`, x1, y1, x2-6, y2, colPermit)
		}
		fmt.Fprintf(&s, `<polygon points="%.0f,%.0f %.0f,%.0f %.0f,%.0f" fill="%s"/>`, x2, y2, x2-8, y2-5, x2-8, y2+5, colPermit)
		n, totals, _ := strings.Cut(stepLabel(st), ", ")
		fmt.Fprintf(&s, `<text x="%.0f" y="%.0f" font-size="11" fill="%s" text-anchor="middle">%s</text>`, lx, ly, colText, esc(n))
		if totals != "" {
			fmt.Fprintf(&s, `<text x="%.0f" y="%.0f" font-size="11" fill="%s" text-anchor="middle">%s</text>`, lx, ly+13, colText, esc(totals))
		}
	}
	for _, pid := range slices.Sorted(maps.Keys(cols)) {
		x, y := xy(pid)
		name := names[pid]
		if len([]rune(name)) > 22 {
			name = string([]rune(name)[:21]) + "…"
		}
		fmt.Fprintf(&s, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" rx="4" fill="#ffffff" stroke="%s"/>`, x, y, boxW, boxH, colAxis)
		fmt.Fprintf(&s, `<text x="%.0f" y="%.0f" font-size="12" fill="%s">%s</text>`, x+8, y+26, colText, esc(name))
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String())
}

// stepLabel says a step's contracts and their totals.
func stepLabel(st *pathway) string {
	label := fmt.Sprintf("%d contract", st.n)
	if st.n != 1 {
		label += "s"
	}
	for _, cur := range slices.Sorted(maps.Keys(st.totals)) {
		label += fmt.Sprintf(", %s %s", cur, money(st.totals[cur]))
	}
	return label
}

// money writes an amount with thousands separators.
func money(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "not a number"
	}
	if v < 0 {
		return "-" + money(-v)
	}
	s := fmt.Sprintf("%.0f", v)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
