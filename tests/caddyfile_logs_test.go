package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Adapting a Caddyfile warns, once per site and naming it, about a site that uses
// keygate and writes an access log without a filter for the fields that carry
// credentials; a site whose log imports Caddyfile.example's snippet, that has no access
// log, or whose log is discarded, is not warned about.
func TestAdaptingWarnsOfAccessLogsThatWouldHoldCredentials(t *testing.T) {
	dir := t.TempDir()
	caddyfile := redactSnippet(t) + `
{
	admin off
	keygate {
		storage sqlite ` + filepath.Join(dir, "kg.db") + `
	}
}
http://filtered.test {
	log {
		output stderr
		import redact_credentials
	}
	keygate
	respond ok
}
http://unfiltered.test {
	log
	keygate
	route /api/* {
		keygate
	}
	respond ok
}
http://header-only.test {
	log {
		format filter {
			fields {
				request>headers>ApiKey delete
			}
		}
	}
	keygate
	respond ok
}
http://quiet.test {
	keygate
	respond ok
}
http://discarded.test {
	log {
		output discard
	}
	keygate
	respond ok
}
`
	cfg := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(cfg, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runBinary(t, []string{"XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}, "", "adapt", "--config", cfg)
	if r.code != 0 {
		t.Fatalf("adapt: exit %d, stderr %q", r.code, r.stderr)
	}
	warned := map[string][]string{}
	for _, line := range strings.Split(r.stderr, "\n") {
		var entry struct {
			Logger, Msg, Site string
			Unfiltered        []string
		}
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Logger == "keygate" && strings.Contains(entry.Msg, "access log") {
			if _, again := warned[entry.Site]; again {
				t.Errorf("site %s warned about twice", entry.Site)
			}
			warned[entry.Site] = entry.Unfiltered
		}
	}
	if len(warned) != 2 || len(warned["http://unfiltered.test"]) != 2 || len(warned["http://header-only.test"]) != 1 ||
		!strings.Contains(warned["http://header-only.test"][0], "query") {
		t.Errorf("warnings by site: %v; stderr:\n%s", warned, r.stderr)
	}
}
