package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ratio compares Praetor's figure with Prefect's so that bigger is better
// for Praetor: Praetor ÷ Prefect for a rate, Prefect ÷ Praetor for a cost.
// It is NaN when there is nothing to compare (a zero, or a count).
func ratio(m metric, praetor, prefect float64) float64 {
	if m.Unit == "count" || praetor <= 0 || prefect <= 0 {
		return math.NaN()
	}
	if m.Higher {
		return praetor / prefect
	}
	return prefect / praetor
}

type row struct {
	Workload string             `json:"workload"`
	Metric   string             `json:"metric"`
	Unit     string             `json:"unit"`
	Higher   bool               `json:"higher_is_better"`
	Values   map[string]float64 `json:"values"`  // by target
	Ratios   map[string]float64 `json:"ratios"`  // by engine: Praetor against Prefect
	Ceiling  map[string]float64 `json:"ceiling"` // by engine: Praetor's share of the machine's limit
}

// write prints the Markdown table and writes it and the JSON beside it in
// outDir, named by date and commit.
func write(r *runner, results []*result, skipped map[string]string, took time.Duration, outDir string) error {
	byTarget := map[string]*result{}
	var order []string // workloads, in the order they ran
	for _, res := range results {
		byTarget[res.Target] = res
		for _, w := range res.order {
			if !slices.Contains(order, w) {
				order = append(order, w)
			}
		}
	}
	var rows []row
	for _, w := range order {
		var names []metric
		for _, res := range results {
			for _, m := range res.Metrics[w] {
				if !slices.ContainsFunc(names, func(n metric) bool { return n.Name == m.Name }) {
					names = append(names, m)
				}
			}
		}
		for _, n := range names {
			rw := row{Workload: w, Metric: n.Name, Unit: n.Unit, Higher: n.Higher, Values: map[string]float64{}, Ratios: map[string]float64{}, Ceiling: map[string]float64{}}
			for _, res := range results {
				for _, m := range res.Metrics[w] {
					if m.Name == n.Name {
						rw.Values[res.Target] = m.Value
						if m.Ceiling > 0 {
							rw.Ceiling[engineOf(res.Target)] = m.Value / m.Ceiling
						}
					}
				}
			}
			for _, e := range []string{"sqlite", "postgres"} {
				a, okA := rw.Values["praetor-"+e]
				b, okB := rw.Values["prefect-"+e]
				if x := ratio(n, a, b); okA && okB && !math.IsNaN(x) {
					rw.Ratios[e] = x
				}
			}
			rows = append(rows, rw)
		}
	}

	var md strings.Builder
	mach := machine()
	fmt.Fprintf(&md, "bench/run %s, %s, commit %s, %s CPUs (%s), load average at the end %s, took %v\n\n",
		r.p.name, time.Now().UTC().Format("2006-01-02 15:04 UTC"), mach["commit"], mach["cpus"], mach["cpu"], mach["loadavg"], took.Round(time.Second))
	md.WriteString("| workload | metric | praetor-sqlite | prefect-sqlite | ratio | praetor-postgres | prefect-postgres | ratio | share of the machine's limit (sqlite / pg) |\n")
	md.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, rw := range rows {
		fmt.Fprintf(&md, "| %s | %s (%s) | %s | %s | %s | %s | %s | %s | %s |\n", rw.Workload, rw.Metric, rw.Unit,
			value(rw, "praetor-sqlite"), value(rw, "prefect-sqlite"), ratioCell(rw, "sqlite"),
			value(rw, "praetor-postgres"), value(rw, "prefect-postgres"), ratioCell(rw, "postgres"), ceilingCell(rw))
	}
	md.WriteString("\nRatios read bigger is better for Praetor: Praetor ÷ Prefect for rates, Prefect ÷ Praetor for times, costs and sizes.\n")
	var notes []string
	for _, res := range results {
		for w, why := range res.Failed {
			notes = append(notes, fmt.Sprintf("- **%s, %s: FAILED** (no figures kept): %s", res.Target, w, firstLine(why)))
		}
		for w, why := range res.Skipped {
			notes = append(notes, fmt.Sprintf("- %s, %s: skipped: %s", res.Target, w, why))
		}
	}
	for w, why := range skipped {
		notes = append(notes, fmt.Sprintf("- %s: skipped: %s", w, why))
	}
	slices.Sort(notes)
	if len(notes) > 0 {
		md.WriteString("\n" + strings.Join(notes, "\n") + "\n")
	}
	fmt.Print(md.String())

	if !filepath.IsAbs(outDir) {
		outDir = filepath.Join(r.root, outDir)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	base := filepath.Join(outDir, time.Now().UTC().Format("2006-01-02T1504")+"-"+mach["commit"]+"-"+r.p.name)
	doc, err := json.MarshalIndent(map[string]any{"profile": r.p.name, "machine": mach, "took_seconds": took.Seconds(),
		"rows": rows, "results": results, "skipped": skipped}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(base+".json", doc, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(base+".md", []byte(md.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s.json and .md\n", base)
	return nil
}

func engineOf(target string) string { return target[strings.IndexByte(target, '-')+1:] }

func value(rw row, target string) string {
	v, ok := rw.Values[target]
	if !ok {
		return "—"
	}
	return num(v)
}

func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func ratioCell(rw row, engine string) string {
	x, ok := rw.Ratios[engine]
	if !ok {
		return "—"
	}
	return num(x) + "×"
}

func ceilingCell(rw row) string {
	if len(rw.Ceiling) == 0 {
		return ""
	}
	cell := func(e string) string {
		if x, ok := rw.Ceiling[e]; ok {
			return fmt.Sprintf("%.0f%%", x*100)
		}
		return "—"
	}
	return cell("sqlite") + " / " + cell("postgres")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
