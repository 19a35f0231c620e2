package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// At start-up Keygate warns, once for each site that runs it, when the site's access log
// would record a credential; a site using README's redaction snippet, and one without an
// access log, get no warning.
func TestAccessLogWarning(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	upstream := startEchoUpstream(t)
	ports := map[string]int{"unfiltered": freePort(t), "redacted": freePort(t), "partial": freePort(t), "unlogged": freePort(t)}
	defaultLog := filepath.Join(dir, "default.log")
	var servers, sites strings.Builder
	for _, name := range []string{"unfiltered", "redacted", "partial", "unlogged"} {
		fmt.Fprintf(&servers, "\tservers :%d {\n\t\tname %s\n\t}\n", ports[name], name)
		logBlock := map[string]string{
			"unfiltered": "log {\n\t\toutput file " + filepath.Join(dir, "u.log") + "\n\t}",
			"redacted":   "log {\n\t\toutput file " + filepath.Join(dir, "r.log") + "\n\t\timport redact_credentials\n\t}",
			// Deletes the header but leaves the URI: the query key and refresh token show.
			"partial": "log {\n\t\toutput file " + filepath.Join(dir, "p.log") + "\n\t\tformat filter {\n\t\t\tfields {\n\t\t\t\trequest>headers>Apikey delete\n\t\t\t}\n\t\t}\n\t}",
		}[name]
		fmt.Fprintf(&sites, "http://127.0.0.1:%d {\n\t%s\n\tkeygate\n\treverse_proxy %s\n}\n", ports[name], logBlock, upstream)
	}
	loadCaddyfile(t, redactSnippet(t)+fmt.Sprintf(`
{
	admin off
	persist_config off
%s	log {
		output file %s
		import redact_credentials
	}
	keygate {
		storage sqlite %s
	}
}
%s`, servers.String(), defaultLog, filepath.Join(dir, "kg.db"), sites.String()))
	stopCaddy() // flush the log

	raw, err := os.ReadFile(defaultLog)
	if err != nil {
		t.Fatal(err)
	}
	warned := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var entry struct {
			Level, Logger, Msg, Server string
			Listen, Hosts, Unredacted  []string
		}
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if strings.Contains(entry.Msg, "redact credentials") {
			t.Errorf("the check could not run: %s", line)
		}
		if !strings.Contains(entry.Msg, "access log records credentials") {
			continue
		}
		if entry.Level != "warn" || entry.Logger != "keygate" {
			t.Errorf("want a keygate warning: %s", line)
		}
		if _, twice := warned[entry.Server]; twice {
			t.Errorf("site %q warned twice", entry.Server)
		}
		warned[entry.Server] = entry.Unredacted
		if want := fmt.Sprintf(":%d", ports[entry.Server]); !slices.Contains(entry.Listen, want) {
			t.Errorf("the warning for %q lists %v, want %s", entry.Server, entry.Listen, want)
		}
		if !slices.Contains(entry.Hosts, "127.0.0.1") {
			t.Errorf("the warning for %q names the hosts %v, want 127.0.0.1", entry.Server, entry.Hosts)
		}
		if strings.Contains(line, "keygate-log-probe") {
			t.Errorf("the warning carries the probe value: %s", line)
		}
	}
	want := map[string][]string{
		"unfiltered": {"ApiKey header", "ApiKey query", "refresh path token"},
		"partial":    {"ApiKey query", "refresh path token"},
	}
	if fmt.Sprint(warned) != fmt.Sprint(want) {
		t.Fatalf("warnings: %v, want %v\n%s", warned, want, raw)
	}
}
