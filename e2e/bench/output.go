package bench

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// Target is a figure to reach, with whether the run reached it.
type Target struct {
	What, Want, Got string
	Met             bool
}

// Targets compares a run with the targets gitstellar keeps.
func (r *Result) Targets() []Target {
	placements := r.Objects * r.WECs
	return []Target{
		{"cold convergence ≤ 2× the raw limit", fmt.Sprintf("≤ %.1fs", 2*r.RawSeconds), fmt.Sprintf("%.1fs (%.2f×)", r.ColdSeconds, r.ColdRatio), r.ColdSeconds <= 2*r.RawSeconds},
		{"cold convergence faster than kubectl WEC after WEC", fmt.Sprintf("< %.1fs", r.KubectlSeconds), fmt.Sprintf("%.1fs", r.ColdSeconds), r.ColdSeconds < r.KubectlSeconds},
		{"warm latency p50", "≤ 1s", fmt.Sprintf("%.2fs", r.WarmP50Seconds), r.WarmP50Seconds <= 1},
		{"warm latency p95", "≤ 2s", fmt.Sprintf("%.2fs", r.WarmP95Seconds), r.WarmP95Seconds <= 2},
		{"status lag", fmt.Sprintf("≤ %.0fs (interval + 2s)", r.StatusInterval+2), fmt.Sprintf("%.1fs", r.StatusLagSeconds), r.StatusLagSeconds <= r.StatusInterval+2},
		{fmt.Sprintf("peak RSS of gitstellar run (%d placements)", placements), "≤ 300 MiB", fmt.Sprintf("%.0f MiB", r.PeakRSSMiB), r.PeakRSSMiB <= 300},
		{"writes per one-object change", fmt.Sprintf("O(WECs): ~%d ITS, ~%d WECs", 2*r.WECs, r.WECs), fmt.Sprintf("ITS %.1f, WECs %.1f", r.ITSWritesPerChange, r.WECWritesPerChange),
			r.ITSWritesPerChange <= float64(4*r.WECs) && r.WECWritesPerChange <= float64(3*r.WECs)},
	}
}

// WriteTable writes the figures and the targets for people.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%d objects × %d WECs on %s\n\n", r.Objects, r.WECs, r.Machine)
	fmt.Fprintln(tw, "MEASURE\tSECONDS\tRATIO TO RAW")
	fmt.Fprintf(tw, "cold convergence: gitstellar (push → every object in every WEC)\t%.2f\t%.2f\n", r.ColdSeconds, r.ColdRatio)
	fmt.Fprintf(tw, "cold: (a) kubectl apply --server-side, WEC after WEC\t%.2f\t%.2f\n", r.KubectlSeconds, r.KubectlRatio)
	fmt.Fprintf(tw, "cold: (b) raw concurrent server-side apply\t%.2f\t1.00\n", r.RawSeconds)
	fmt.Fprintf(tw, "warm latency p50: one object changed → in every WEC\t%.2f\t%.1f\n", r.WarmP50Seconds, r.WarmP50Ratio)
	fmt.Fprintf(tw, "warm latency p95\t%.2f\t\n", r.WarmP95Seconds)
	fmt.Fprintf(tw, "warm: (b) raw, one object into every WEC\t%.2f\t1.00\n", r.RawOneSeconds)
	fmt.Fprintf(tw, "every Deployment available in the WECs, after every object arrived\t%.2f\t\n", r.ReadySeconds)
	fmt.Fprintf(tw, "status lag: every object ready in the WECs → status branch\t%.2f\t\n", r.StatusLagSeconds)
	fmt.Fprintf(tw, "\nOTHER\tVALUE\t\n")
	fmt.Fprintf(tw, "peak RSS of gitstellar run\t%.0f MiB\t\n", r.PeakRSSMiB)
	fmt.Fprintf(tw, "API writes per one-object change\tITS %.1f, WECs %.1f\t\n", r.ITSWritesPerChange, r.WECWritesPerChange)
	for _, k := range slices.Sorted(maps.Keys(r.ITSWritesByRequest)) {
		fmt.Fprintf(tw, "  ITS: %s\t%.1f\t\n", k, r.ITSWritesByRequest[k])
	}
	fmt.Fprintf(tw, "\nTARGET\tWANT\tGOT\tMET\n")
	for _, t := range r.Targets() {
		met := "yes"
		if !t.Met {
			met = "NO"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.What, t.Want, t.Got, met)
	}
	return tw.Flush()
}

// WriteJSON writes bench.json.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteSVG draws objects applied over time, one line per contender.
func (r *Result) WriteSVG(w io.Writer) error {
	const width, height, left, bottom, top, right = 720.0, 400.0, 70.0, 50.0, 30.0, 20.0
	names := slices.Sorted(maps.Keys(r.Samples))
	maxT, maxN := 0.0, 0
	for _, s := range r.Samples {
		for _, p := range s {
			maxT = max(maxT, p.Seconds)
			maxN = max(maxN, p.Applied)
		}
	}
	if maxT == 0 || maxN == 0 {
		maxT, maxN = 1, 1
	}
	x := func(t float64) float64 { return left + t/maxT*(width-left-right) }
	y := func(n int) float64 { return height - bottom - float64(n)/float64(maxN)*(height-bottom-top) }
	colors := []string{"#2b8a3e", "#c92a2a", "#1971c2", "#e67700"}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="18" font-size="14">Objects applied over time: %d objects × %d WECs</text>`+"\n", left, r.Objects, r.WECs)
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/>`+"\n", left, height-bottom, width-right, height-bottom)
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/>`+"\n", left, top, left, height-bottom)
	for i := 0; i <= 4; i++ {
		t, n := maxT*float64(i)/4, maxN*i/4
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle">%.0fs</text>`+"\n", x(t), height-bottom+16, t)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="end">%d</text>`+"\n", left-6, y(n)+4, n)
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle">seconds since the start</text>`+"\n", (left+width-right)/2, height-12)
	for i, name := range names {
		color := colors[i%len(colors)]
		var pts []string
		for _, p := range r.Samples[name] {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.Seconds), y(p.Applied)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", color, strings.Join(pts, " "))
		ly := top + 16 + float64(i)*16
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s" stroke-width="2"/>`+"\n", width-330, ly-4, width-310, ly-4, color)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">%s</text>`+"\n", width-305, ly, html.EscapeString(name))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
