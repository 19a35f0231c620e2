package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/keygate/keygate/authcore"
)

// latencies are measured durations, sorted.
type latencies []time.Duration

func (l latencies) quantile(q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[min(len(l)-1, int(q*float64(len(l))))]
}

// paced calls do(0..n-1) at rate calls per second and returns each call's latency. It
// is timed from the call's start, not from when it was due: the sleep before it wakes up
// to a millisecond late on a busy machine, and that lateness is this process's, not the
// gateway's. A late call makes the next ones due at once, so the rate still holds.
func paced(n, rate int, do func(i int) error) (latencies, error) {
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	out := make(latencies, 0, n)
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(due))
		began := time.Now()
		if err := do(i); err != nil {
			return nil, err
		}
		out = append(out, time.Since(began))
	}
	slices.Sort(out)
	return out, nil
}

// pacedLookups opens the store a second time, as another node would, and times
// KeyGrantByDigest for each key at rate per second: a cold lookup, on its own.
func pacedLookups(ctx context.Context, target storeTarget, keys []string, rate int) (latencies, error) {
	st, err := target.open(ctx)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return paced(len(keys), rate, func(i int) error {
		digest, ok := authcore.ParseKey(keys[i])
		if !ok {
			return fmt.Errorf("seeded key %d does not parse", i)
		}
		_, err := st.KeyGrantByDigest(ctx, digest[:])
		return err
	})
}

// results are the figures of one run.
type results struct {
	seeded       int
	seedTime     time.Duration
	startup      time.Duration
	bytesPerKey  float64
	cachedKeys   int
	firstRequest latencies
	storeLookup  latencies
	restartCold  restartCost // preload_keys 0
	restartWarm  restartCost // the default
}

func (r results) print(w io.Writer, o options) {
	fmt.Fprintf(w, "\n%s, %d keys in the store (seeded in %s), %s, %d paced at %d/s\n\n",
		o.backend, r.seeded, r.seedTime.Round(time.Second), time.Now().UTC().Format(time.RFC3339), len(r.firstRequest), o.rate)
	fmt.Fprintln(w, "| measure | figure |")
	fmt.Fprintln(w, "| --- | --- |")
	fmt.Fprintf(w, "| start-up (config load to first 200) | %s |\n", r.startup.Round(time.Millisecond))
	fmt.Fprintf(w, "| cache memory per cached key (%d cached) | %.0f bytes |\n", r.cachedKeys, r.bytesPerKey)
	fmt.Fprintf(w, "| first request for an uncached key, end to end: p50 / p99 / max | %s |\n", r.firstRequest.summary())
	fmt.Fprintf(w, "| cold store lookup (KeyGrantByDigest): p50 / p99 / max | %s |\n", r.storeLookup.summary())
	n := len(r.restartCold.latency)
	fmt.Fprintf(w, "| restart under load, preload_keys 0: store lookups serving the %d keys used last; p50 / p99 / max | %.0f; %s |\n",
		n, r.restartCold.lookups, r.restartCold.latency.summary())
	fmt.Fprintf(w, "| restart under load, preloading (default): keys preloaded, ready after; store lookups; p50 / p99 / max | %.0f, %s; %.0f; %s |\n",
		r.restartWarm.preloaded, r.restartWarm.ready.Round(time.Millisecond), r.restartWarm.lookups, r.restartWarm.latency.summary())
}

func (l latencies) summary() string {
	return fmt.Sprintf("%s / %s / %s", micro(l.quantile(0.5)), micro(l.quantile(0.99)), micro(l.quantile(1)))
}

func micro(d time.Duration) string {
	if d >= time.Millisecond {
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%d µs", d.Microseconds())
}
