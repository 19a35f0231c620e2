package main

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// restartCost is what a restart under load costs a node: the store lookups it makes
// serving again the keys used last before it stopped, and their latencies; with
// preloading, also how long after the config load the preload was done.
type restartCost struct {
	lookups   float64
	latency   latencies
	preloaded float64
	ready     time.Duration
}

// restart stops the gateway (which writes the last-use times, as a node does when it
// stops), starts it again with or without preloading, and replays keys at rate.
func (g *gateway) restart(keys []string, rate int, preload bool) (restartCost, error) {
	var c restartCost
	caddy.Stop()
	cfg := g.noPreload
	if preload {
		cfg = g.config
	}
	start := time.Now()
	if err := caddy.Load(cfg, true); err != nil {
		return c, fmt.Errorf("loading the config: %w", err)
	}
	if preload {
		for {
			n, err := g.metric("keygate_preloaded_keys")
			if err == nil && n > 0 {
				c.preloaded, c.ready = n, time.Since(start)
				break
			}
			if time.Since(start) > 60*time.Second {
				return c, fmt.Errorf("no preload within 60 s of the restart (%v)", err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	before, err := g.metric(`keygate_store_duration_seconds_count{op="key_lookup"}`)
	if err != nil {
		return c, err
	}
	if c.latency, err = g.pacedRequests(keys, rate); err != nil {
		return c, err
	}
	after, err := g.metric(`keygate_store_duration_seconds_count{op="key_lookup"}`)
	c.lookups = after - before
	return c, err
}

// metric reads one series from the gateway's /metrics; 0 when it is absent.
func (g *gateway) metric(series string) (float64, error) {
	resp, err := g.client.Get(g.admin + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` ([0-9.e+-]+)$`).FindSubmatch(body)
	if m == nil {
		return 0, nil
	}
	return strconv.ParseFloat(string(m[1]), 64)
}
