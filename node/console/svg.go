package console

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// series is one line or bar set of a chart.
type series struct {
	Name   string
	Color  string
	Values []float64
	Bars   bool
}

// Chart geometry.
const (
	chartW, chartH                         = 900, 220
	padLeft, padRight, padTop, padBottom   = 56, 16, 14, 40
	plotW, plotH                           = chartW - padLeft - padRight, chartH - padTop - padBottom
	yTicks                                 = 4
	legendGap, legendSwatch, legendPadding = 130, 12, 6
)

// trafficCharts draws the traffic page's charts.
func trafficCharts(ms []TrafficMinute) []chart {
	if len(ms) == 0 {
		return nil
	}
	xs := make([]time.Time, len(ms))
	local, routed, fail, rev, p50, p99 := make([]float64, len(ms)), make([]float64, len(ms)), make([]float64, len(ms)),
		make([]float64, len(ms)), make([]float64, len(ms)), make([]float64, len(ms))
	for i, m := range ms {
		xs[i] = m.Minute
		local[i], routed[i] = float64(m.Local), float64(m.Routed)
		fail[i], rev[i] = float64(m.Failures), float64(m.Reversals)
		p50[i], p99[i] = float64(m.P50.Microseconds())/1000, float64(m.P99.Microseconds())/1000
	}
	return []chart{
		{Title: "Settlements per minute", SVG: drawChart("settlements per minute", xs, "", []series{
			{Name: "local", Color: "#2563eb", Values: local}, {Name: "routed (cross-province)", Color: "#16a34a", Values: routed}})},
		{Title: "Latency (ms)", SVG: drawChart("latency", xs, " ms", []series{
			{Name: "p50", Color: "#0891b2", Values: p50}, {Name: "p99", Color: "#c2410c", Values: p99}})},
		{Title: "Failures and reversals per minute", SVG: drawChart("failures", xs, "", []series{
			{Name: "failures", Color: "#dc2626", Values: fail, Bars: true}, {Name: "reversals", Color: "#a855f7", Values: rev, Bars: true}})},
	}
}

// drawChart renders series over the times xs as an inline SVG. Colours are
// presentation attributes so the page's content security policy (no
// inline styles) holds.
func drawChart(label string, xs []time.Time, unit string, ss []series) template.HTML {
	top := 0.0
	for _, s := range ss {
		for _, v := range s.Values {
			top = math.Max(top, v)
		}
	}
	top = niceCeil(top)
	integral := true
	bars := false
	for _, s := range ss {
		bars = bars || s.Bars
		for _, v := range s.Values {
			integral = integral && v == math.Trunc(v)
		}
	}
	if integral {
		// Counts: whole-number ticks.
		top = math.Ceil(math.Max(top, yTicks)/yTicks) * yTicks
	}
	n := len(xs)
	x := func(i int) float64 {
		if bars || n == 1 {
			// Bars sit in bands, each point in the middle of its band.
			return padLeft + (float64(i)+0.5)*plotW/float64(n)
		}
		return padLeft + float64(i)*plotW/float64(n-1)
	}
	y := func(v float64) float64 { return padTop + plotH - v/top*plotH }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s">`, chartW, chartH, template.HTMLEscapeString(label))
	for i := 0; i <= yTicks; i++ {
		v := top * float64(i) / yTicks
		yy := y(v)
		fmt.Fprintf(&b, `<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e5e7eb"/>`, padLeft, yy, chartW-padRight, yy)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`, padLeft-6, yy+4, template.HTMLEscapeString(num(v)+unit))
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d" stroke="#9ca3af"/>`, padLeft, padTop+plotH, chartW-padRight, padTop+plotH)
	// Time labels: first, last and a few between.
	step := max(1, (n+5)/6)
	for i := 0; i < n; i += step {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x(i), padTop+plotH+16, xs[i].UTC().Format("15:04"))
	}
	if (n-1)%step != 0 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x(n-1), padTop+plotH+16, xs[n-1].UTC().Format("15:04"))
	}
	nb := 0
	for _, s := range ss {
		if s.Bars {
			nb++
		}
	}
	bw := math.Max(1, plotW/float64(max(n, 1))/float64(max(nb, 1))*0.8)
	bi := 0
	for _, s := range ss {
		if s.Bars {
			for i, v := range s.Values {
				if v <= 0 {
					continue
				}
				bx := x(i) - bw*float64(nb)/2 + bw*float64(bi)
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`,
					bx, y(v), bw, padTop+plotH-y(v), s.Color, template.HTMLEscapeString(s.Name), xs[i].UTC().Format("15:04"), num(v))
			}
			bi++
			continue
		}
		var pts []string
		for i, v := range s.Values {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, s.Color, strings.Join(pts, " "))
	}
	for i, s := range ss {
		lx := padLeft + i*legendGap
		ly := chartH - legendPadding - legendSwatch
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`, lx, ly, legendSwatch, legendSwatch, s.Color)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`, lx+legendSwatch+4, ly+legendSwatch-1, template.HTMLEscapeString(s.Name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (at least 1).
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func num(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}
