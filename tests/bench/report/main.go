// Command report reads the records that tests/bench/run.sh writes for each wrk run and
// prints the benchmark's table: medians per scenario over the measured rounds, each
// row's throughput as a ratio of (b) and its Caddy CPU per request minus (b)'s. It also
// checks that every scenario answered as it must (all 2xx, or all rejected for the
// invalid-key flood) and exits 1 if one did not.
//
// Input lines (space-separated key=value fields after a record type):
//
//	run scenario=d round=1 requests=N duration_us=N status_errors=N sock_errors=N
//	    p50_us=N p99_us=N cpu_ticks=N clk_tck=N [wellformed=N malformed=N]
//	    [login_requests=N login_status_errors=N login_sock_errors=N login_duration_us=N
//	     login_p99_us=N login_checked=N login_busy=N]
//	fcheck key_lookups=N|na
//
// round=0 is a warm-up run: checked, but not in the medians.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// scenario describes one row of the table.
type scenario struct {
	id, label string
	// rejected is true when every answer must be non-2xx (the invalid-key flood).
	rejected bool
	// goals are the throughput targets for this row, each against another row.
	goals []goal
}

// goal is a throughput ratio asked for: at least target of the row ref.
type goal struct {
	ref    string
	target float64
	why    string // what ref stands for
}

// Issue 13's targets: the cached paths against plain reverse_proxy (b) and against the
// header_up limit (i), which any proxy passing an identity on pays; the login flood
// against b, and against the same cached-key traffic without the flood (d).
var (
	cachedGoals = []goal{{"b", 0.97, "plain reverse_proxy"}, {"i", 0.98, "the header_up limit"}}
	floodGoals  = []goal{{"b", 0.90, "plain reverse_proxy"}, {"d", 0.90, "d, without the flood"}}
)

func scenarios(keys int) []scenario {
	return []scenario{
		{id: "a", label: "Caddy respond (ceiling)"},
		{id: "b", label: "reverse_proxy (baseline)"},
		{id: "i", label: "reverse_proxy + 6 header_up (the limit)"},
		{id: "c", label: "basic_auth (bcrypt, cached) + proxy"},
		{id: "d", label: "keygate, cached API key", goals: cachedGoals},
		{id: "e", label: "keygate, token", goals: cachedGoals},
		{id: "f", label: "keygate, invalid keys (401)", rejected: true},
		{id: "g", label: fmt.Sprintf("keygate, %d keys at random", keys)},
		{id: "h", label: "keygate, cached key + login flood", goals: floodGoals},
	}
}

type run struct {
	round  int
	f      map[string]float64
	fields string
}

func (r run) get(k string) float64 { return r.f[k] }

func (r run) has(k string) bool { _, ok := r.f[k]; return ok }

func main() {
	keys := flag.Int("keys", 0, "number of keys in scenario g (for its label)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: report [-keys N] RESULTS")
		os.Exit(2)
	}
	runs, keyLookups, err := read(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(2)
	}
	list := scenarios(*keys)
	med := map[string]summary{}
	for _, s := range list {
		med[s.id] = summarize(runs[s.id])
	}
	printTable(list, med)
	printRounds(list, runs)
	fmt.Println()
	failures := check(list, runs)
	failures += checkFlood(runs["f"], keyLookups)
	printLoginFlood(runs["h"])
	printTargets(list, med, runs)
	if failures > 0 {
		fmt.Printf("\nFAILED: %d check(s) failed (see above)\n", failures)
		os.Exit(1)
	}
	fmt.Println("\nall checks passed")
}

// read parses the results file into runs per scenario.
func read(path string) (map[string][]run, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	runs := map[string][]run{}
	keyLookups := "na"
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		kv := map[string]string{}
		for _, p := range fields[1:] {
			k, v, _ := strings.Cut(p, "=")
			kv[k] = v
		}
		switch fields[0] {
		case "fcheck":
			keyLookups = kv["key_lookups"]
		case "run":
			r := run{f: map[string]float64{}, fields: sc.Text()}
			for k, v := range kv {
				if n, err := strconv.ParseFloat(v, 64); err == nil {
					r.f[k] = n
				}
			}
			r.round = int(r.get("round"))
			runs[kv["scenario"]] = append(runs[kv["scenario"]], r)
		}
	}
	return runs, keyLookups, sc.Err()
}

// summary holds a scenario's medians over its measured rounds.
type summary struct {
	n                    int
	rps, spread          float64 // spread: (max-min)/median of req/s, in percent
	p50ms, p99ms         float64
	cpuPerReq, busy      float64 // Caddy CPU µs per request; share of its core busy, %
	other, client        float64 // core 0 used by others (incl. steal), core 1 busy, %
	other1, wrk          float64 // core 1 used by others than wrk and the upstream; wrk, %
	nonOK, total, socket float64 // over all runs, warm-up included
}

func summarize(runs []run) summary {
	var s summary
	var rps, p50, p99, cpu, busy, other, client, other1, wrk []float64
	for _, r := range runs {
		s.nonOK += r.get("status_errors")
		s.socket += r.get("sock_errors")
		s.total += r.get("requests")
		if r.round == 0 {
			continue
		}
		secs := r.get("duration_us") / 1e6
		cpuSecs := r.get("cpu_ticks") / r.get("clk_tck")
		rps = append(rps, r.get("requests")/secs)
		p50 = append(p50, r.get("p50_us")/1000)
		p99 = append(p99, r.get("p99_us")/1000)
		cpu = append(cpu, cpuSecs*1e6/max(r.get("requests"), 1))
		busy = append(busy, 100*cpuSecs/secs)
		// Whole-core figures over the wall time between the /proc snapshots, which also
		// covers wrk's start (loading keys) and exit.
		pct := 100 / r.get("clk_tck") / (r.get("wall_us") / 1e6)
		other = append(other, pct*(max(r.get("core0_other_ticks"), 0)+r.get("core0_steal_ticks")))
		client = append(client, pct*(r.get("core1_usersys_ticks")+r.get("core1_steal_irq_ticks")))
		ours := r.get("wrk_ticks") + r.get("upstream_ticks")
		other1 = append(other1, pct*max(r.get("core1_usersys_ticks")-ours, 0))
		wrk = append(wrk, pct*r.get("wrk_ticks"))
	}
	s.n = len(rps)
	if s.n == 0 {
		return s
	}
	s.rps, s.p50ms, s.p99ms, s.cpuPerReq, s.busy = median(rps), median(p50), median(p99), median(cpu), median(busy)
	s.other, s.client, s.other1, s.wrk = median(other), median(client), median(other1), median(wrk)
	s.spread = 100 * (slices.Max(rps) - slices.Min(rps)) / s.rps
	return s
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func printTable(list []scenario, med map[string]summary) {
	base := med["b"]
	const row = "%-1s  %-37s %8s %7s %7s %7s %10s %7s %9s %8s %5s %6s %6s %6s %6s\n"
	fmt.Printf(row, "", "scenario", "req/s", "spread", "p50 ms", "p99 ms", "CPU µs/req", "vs (b)", "CPU − (b)", "non-2xx",
		"busy", "other0", "busy1", "wrk", "other1")
	for _, s := range list {
		m := med[s.id]
		if m.n == 0 {
			fmt.Printf("%-1s  %-37s (no measured run)\n", s.id, s.label)
			continue
		}
		fmt.Printf(row, s.id, s.label,
			fmt.Sprintf("%.0f", m.rps), fmt.Sprintf("±%.1f%%", m.spread/2),
			fmt.Sprintf("%.2f", m.p50ms), fmt.Sprintf("%.2f", m.p99ms),
			fmt.Sprintf("%.1f", m.cpuPerReq),
			fmt.Sprintf("%.3f", m.rps/base.rps), fmt.Sprintf("%+.1f", m.cpuPerReq-base.cpuPerReq),
			fmt.Sprintf("%.0f", m.nonOK), fmt.Sprintf("%.0f%%", m.busy),
			fmt.Sprintf("%.0f%%", m.other), fmt.Sprintf("%.0f%%", m.client),
			fmt.Sprintf("%.0f%%", m.wrk), fmt.Sprintf("%.0f%%", m.other1))
	}
	fmt.Println("Medians over the measured rounds. spread: half of (max − min) req/s, over the median.")
	fmt.Println("CPU µs/req: Caddy's utime+stime (/proc/PID/stat) over the run / requests completed (for h it")
	fmt.Println("includes the login flood's password hashing). busy: that CPU time / wrk's duration, on Caddy's one core.")
	fmt.Println("non-2xx: over all runs, warm-up included (f must be all 401; the others all 2xx).")
	fmt.Println("other0: core 0 user+system time of processes other than Caddy, plus steal; busy1: core 1 busy")
	fmt.Println("(user, system, interrupts, steal); wrk: the (main) wrk's CPU; other1: core 1 user+system time of")
	fmt.Println("processes other than wrk and the upstream (for h: the login flood's wrk too). All rough (kernel")
	fmt.Println("tick sampling), in % of the wall time between /proc snapshots around each wrk run.")
	for _, s := range list {
		m := med[s.id]
		if m.n == 0 {
			continue
		}
		if m.other > 5 {
			fmt.Printf("WARNING: %s: other processes took %.0f%% of Caddy's core during the runs; its throughput is low by about that much\n", s.id, m.other)
		}
		if m.busy < 90 && m.client > 90 {
			fmt.Printf("WARNING: %s: Caddy's core was only %.0f%% busy while core 1 was %.0f%%: the client side limited this row\n", s.id, m.busy, m.client)
		}
	}
}

// printRounds shows each measured run's req/s, so a reader can judge the spread.
func printRounds(list []scenario, runs map[string][]run) {
	fmt.Println("\nreq/s per measured round (in the order run):")
	for _, s := range list {
		var b strings.Builder
		for _, r := range runs[s.id] {
			if r.round > 0 {
				fmt.Fprintf(&b, " %7.0f", r.get("requests")/(r.get("duration_us")/1e6))
			}
		}
		fmt.Printf("  %s%s\n", s.id, b.String())
	}
}

// check verifies every run answered as its scenario must.
func check(list []scenario, runs map[string][]run) int {
	failures := 0
	fail := func(format string, a ...any) {
		failures++
		fmt.Printf("FAIL: "+format+"\n", a...)
	}
	for _, s := range list {
		rs := runs[s.id]
		if len(rs) == 0 {
			fail("%s: no run recorded", s.id)
			continue
		}
		for _, r := range rs {
			n, bad, sock := r.get("requests"), r.get("status_errors"), r.get("sock_errors")
			switch {
			case n == 0:
				fail("%s round %d: no request completed", s.id, r.round)
			case sock > 0:
				fail("%s round %d: %.0f socket errors (connect/read/write/timeout)", s.id, r.round, sock)
			case !s.rejected && bad > 0:
				fail("%s round %d: %.0f of %.0f answers were not 2xx", s.id, r.round, bad, n)
			case s.rejected && bad != n:
				fail("%s round %d: %.0f of %.0f invalid keys were accepted (2xx)", s.id, r.round, n-bad, n)
			}
		}
	}
	return failures
}

// checkFlood reports the store queries that scenario f caused against the distinct
// well-formed keys it sent: malformed keys must make none, well-formed ones at most one
// per distinct key (every well-formed key in the flood is distinct).
func checkFlood(rs []run, keyLookups string) int {
	var wf, mf float64
	for _, r := range rs {
		wf += r.get("wellformed")
		mf += r.get("malformed")
	}
	fmt.Printf("f: sent %.0f distinct well-formed unknown keys and %.0f malformed ones (all f runs, warm-up included; keys sent = keys generated by wrk);\n", wf, mf)
	n, err := strconv.ParseFloat(keyLookups, 64)
	if err != nil {
		fmt.Println("   store key lookups during f (keygate_store_duration_seconds_count{op=\"key_lookup\"} delta): n/a (metric missing)")
		return 0
	}
	fmt.Printf("   store key lookups during f (keygate_store_duration_seconds_count{op=\"key_lookup\"} delta): %.0f", n)
	if n > wf {
		fmt.Printf("\nFAIL: more store lookups (%.0f) than distinct well-formed keys (%.0f): malformed keys or repeats reach the store\n", n, wf)
		return 1
	}
	fmt.Printf(" ≤ %.0f: OK (malformed: none; well-formed: at most one per distinct key)\n", wf)
	if wf > 0 {
		fmt.Printf("   store queries per well-formed forged key: %.2f%% (target ≤ 1%%)\n", 100*n/wf)
	}
	return checkProbes(rs)
}

// checkProbes fails when a valid key, used 30 times right after a flood run, cost more
// than one store lookup: the flood pushed it out of the cache.
func checkProbes(rs []run) int {
	worst := -1.0
	for _, r := range rs {
		if r.has("probe_lookups") {
			worst = max(worst, r.get("probe_lookups"))
		}
	}
	switch {
	case worst < 0:
		fmt.Println("   a valid key right after each flood run: n/a (metric missing)")
	case worst > 1:
		fmt.Printf("FAIL: a valid key used 30 times right after a flood run cost %.0f store lookups (at most 1 allowed)\n", worst)
		return 1
	default:
		fmt.Printf("   a valid key used 30 times right after each flood run: at most %.0f store lookup(s): OK\n", worst)
	}
	return 0
}

func printLoginFlood(rs []run) {
	var n, bad, sock, secs, checked, busy float64
	var p99 []float64
	for _, r := range rs {
		if r.round == 0 || !r.has("login_requests") {
			continue
		}
		n += r.get("login_requests")
		bad += r.get("login_status_errors")
		sock += r.get("login_sock_errors")
		secs += r.get("login_duration_us") / 1e6
		checked += r.get("login_checked")
		busy += r.get("login_busy")
		p99 = append(p99, r.get("login_p99_us"))
	}
	if secs == 0 {
		return
	}
	fmt.Printf("h: the concurrent login flood made %.0f logins/s (all measured rounds), %.0f of %.0f answered non-2xx (wrong passwords: all should), %.0f socket errors\n",
		n/secs, bad, n, sock)
	slices.Sort(p99)
	fmt.Printf("   of them %.0f/s checked (401) within the hashing budget, %.0f/s refused at once (503 LoginBusy); login p99 %.1f ms (median of rounds)\n",
		checked/secs, busy/secs, p99[len(p99)/2]/1000)
}

// printTargets compares medians, and, less sensitive to a machine whose speed drifts,
// the median over rounds of each round's own ratio (rows of a round run within a minute).
func printTargets(list []scenario, med map[string]summary, runs map[string][]run) {
	fmt.Println("\nTargets (throughput ratios; measured, not asserted): of medians, and the median of per-round ratios")
	for _, s := range list {
		for _, g := range s.goals {
			if med[s.id].n == 0 || med[g.ref].rps == 0 {
				continue
			}
			ratios := roundRatios(runs[s.id], runs[g.ref])
			if len(ratios) == 0 {
				continue
			}
			ofMedians, paired := med[s.id].rps/med[g.ref].rps, median(ratios)
			verdict := "met"
			if min(ofMedians, paired) < g.target {
				verdict = "MISSED"
			}
			fmt.Printf("  %s %-36s %.3f / %.3f of (%s) %-22s target ≥ %.2f  %s\n",
				s.id, s.label, ofMedians, paired, g.ref, g.why, g.target, verdict)
		}
	}
}

// roundRatios divides each measured round's req/s of one row by another's, round by round.
func roundRatios(rows, refs []run) []float64 {
	ref := map[int]float64{}
	for _, r := range refs {
		if r.round > 0 {
			ref[r.round] = r.get("requests") / (r.get("duration_us") / 1e6)
		}
	}
	var ratios []float64
	for _, r := range rows {
		if d := ref[r.round]; r.round > 0 && d > 0 {
			ratios = append(ratios, r.get("requests")/(r.get("duration_us")/1e6)/d)
		}
	}
	return ratios
}
