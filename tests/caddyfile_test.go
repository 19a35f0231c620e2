package tests

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

var update = flag.Bool("update", false, "rewrite golden files")

// The example's JSON is pinned: a change to parsing or to the example shows in review.
func TestCaddyfileExampleAdaptsToGoldenJSON(t *testing.T) {
	src, err := os.ReadFile("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := json.Indent(&got, adapt(t, string(src)), "", "\t"); err != nil {
		t.Fatal(err)
	}
	if _, warnings, _ := caddyconfig.GetAdapter("caddyfile").Adapt(src, nil); len(warnings) > 0 {
		t.Errorf("Caddyfile.example has warnings: %v", warnings)
	}
	const golden = "testdata/Caddyfile.example.json"
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./tests -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("adapted Caddyfile.example differs from %s (rerun with -update if intended):\n%s", golden, got.String())
	}
}

func TestCaddyfileOptionsAdapt(t *testing.T) {
	got := adapt(t, `{
	keygate {
		storage sqlite /var/lib/keygate/keygate.db
		cache_max_entries 5000
		cache_ttl 2m
		negative_cache_ttl 10s
		stale_if_error 2m
		max_keys_per_user 0
		login_cpu_share 0.25
		bootstrap_admin ops@example.com {env.PW}
		webhook_private_targets allow
		webhook_timeout 5s
		expiry_reminders 14d 1d
		preload_keys 0
	}
}
:8080 {
	keygate {
		forward_credentials
		scim_prefix /provisioning/scim/
		headers {
			user_uid X-Principal
			project_uid X-Project
		}
	}
	respond ok
}`)
	for _, want := range []string{
		`"keygate":{"storage":{"backend":"sqlite","path":"/var/lib/keygate/keygate.db"},"cache_max_entries":5000,"cache_ttl":120000000000,"negative_cache_ttl":10000000000,"stale_if_error":120000000000,"max_keys_per_user":0,"login_cpu_share":0.25,"bootstrap_admin":{"email":"ops@example.com","password":"{env.PW}"},"webhook_private_targets":"allow","webhook_timeout":5000000000,"expiry_reminders":[1209600000000000,86400000000000],"preload_keys":0}`,
		`{"forward_credentials":true,"handler":"keygate","headers":{"project_uid":"X-Project","user_uid":"X-Principal"},"scim_prefix":"/provisioning/scim/"}`,
	} {
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("adapted config lacks %s\nin %s", want, got)
		}
	}
	// keygate is ordered before respond without an `order` line.
	if bytes.Index(got, []byte(`"handler":"keygate"`)) > bytes.Index(got, []byte(`"handler":"static_response"`)) {
		t.Error("keygate runs after respond")
	}
}

// The PostgreSQL backend's DSN stays a placeholder in the JSON: it is replaced when the
// module starts, so a password in the environment never reaches the config.
func TestCaddyfilePostgresStorageAdapts(t *testing.T) {
	got := adapt(t, `{
	keygate {
		storage postgres {env.KEYGATE_POSTGRES_DSN} {
			max_conns 20
			statement_timeout 3s
			connect_timeout 2s
		}
	}
}
:8080 {
	keygate
	respond ok
}`)
	want := `"storage":{"backend":"postgres","connect_timeout":2000000000,"dsn":"{env.KEYGATE_POSTGRES_DSN}","max_conns":20,"statement_timeout":3000000000}`
	if !bytes.Contains(got, []byte(want)) {
		t.Errorf("adapted config lacks %s\nin %s", want, got)
	}
}

func TestCaddyfileErrorsNameTheProblemAndLine(t *testing.T) {
	for _, tc := range []struct{ name, caddyfile, want, line string }{
		{"unknown option", "{\n\tkeygate {\n\t\tcache_size 10\n\t}\n}\n:8080 {\n\trespond ok\n}", `unknown keygate option "cache_size"`, "at Caddyfile:3"},
		{"unknown subdirective", ":8080 {\n\tkeygate {\n\t\tforward_secrets\n\t}\n}", `unknown keygate subdirective "forward_secrets"`, "at Caddyfile:3"},
		{"unknown backend", "{\n\tkeygate {\n\t\tstorage mongo x\n\t}\n}\n:8080 {\n\trespond ok\n}", `unknown storage backend "mongo" (this build has: postgres, sqlite)`, "at Caddyfile:3"},
		{"bad duration", "{\n\tkeygate {\n\t\tcache_ttl soon\n\t}\n}\n:8080 {\n\trespond ok\n}", `"soon" is not a positive duration`, "at Caddyfile:3"},
		{"bad stale_if_error", "{\n\tkeygate {\n\t\tstale_if_error never\n\t}\n}\n:8080 {\n\trespond ok\n}", `"never" is not a positive duration such as 30s or 5m, or off`, "at Caddyfile:3"},
		{"bad key limit", "{\n\tkeygate {\n\t\tmax_keys_per_user many\n\t}\n}\n:8080 {\n\trespond ok\n}", `max_keys_per_user must be a whole number, 0 for no limit, not "many"`, "at Caddyfile:3"},
		{"bad share", "{\n\tkeygate {\n\t\tlogin_cpu_share 25%\n\t}\n}\n:8080 {\n\trespond ok\n}", `login_cpu_share must be a share of the CPUs, more than 0 and at most 1 (e.g. 0.1), not "25%"`, "at Caddyfile:3"},
		{"share above 1", "{\n\tkeygate {\n\t\tlogin_cpu_share 2\n\t}\n}\n:8080 {\n\trespond ok\n}", `login_cpu_share must be a share of the CPUs`, "at Caddyfile:3"},
		{"bad count", "{\n\tkeygate {\n\t\tcache_max_entries -1\n\t}\n}\n:8080 {\n\trespond ok\n}", `cache_max_entries must be a positive whole number`, "at Caddyfile:3"},
		{"bad header", ":8080 {\n\tkeygate {\n\t\theaders {\n\t\t\tuser_uid X:Bad\n\t\t}\n\t}\n}", `"X:Bad" is not a valid header name`, "at Caddyfile:4"},
		{"unknown header", ":8080 {\n\tkeygate {\n\t\theaders {\n\t\t\tuser_id X-Id\n\t\t}\n\t}\n}", `unknown identity header "user_id"`, "at Caddyfile:4"},
		{"sqlite block", "{\n\tkeygate {\n\t\tstorage sqlite /x.db {\n\t\t\tbogus 1\n\t\t}\n\t}\n}\n:8080 {\n\trespond ok\n}", `storage sqlite takes only a path, not a block (found "bogus")`, "at Caddyfile:4"},
		{"postgres without DSN", "{\n\tkeygate {\n\t\tstorage postgres\n\t}\n}\n:8080 {\n\trespond ok\n}", `storage postgres needs a DSN`, "at Caddyfile:3"},
		{"postgres option", "{\n\tkeygate {\n\t\tstorage postgres x {\n\t\t\tpool 3\n\t\t}\n\t}\n}\n:8080 {\n\trespond ok\n}", `unknown storage postgres option "pool"`, "at Caddyfile:4"},
		{"postgres timeout", "{\n\tkeygate {\n\t\tstorage postgres x {\n\t\t\tconnect_timeout 0\n\t\t}\n\t}\n}\n:8080 {\n\trespond ok\n}", `"0" is not a positive duration`, "at Caddyfile:4"},
		{"option twice", "{\n\tkeygate {\n\t\tcache_ttl 1m\n\t\tcache_ttl 2m\n\t}\n}\n:8080 {\n\trespond ok\n}", `keygate option "cache_ttl" is given twice`, "at Caddyfile:4"},
		{"headers argument", ":8080 {\n\tkeygate {\n\t\theaders X-Foo\n\t}\n}", `headers takes a block, not "X-Foo"`, "at Caddyfile:3"},
		{"bad private targets", "{\n\tkeygate {\n\t\twebhook_private_targets yes\n\t}\n}\n:8080 {\n\trespond ok\n}", `webhook_private_targets must be allow or deny, not "yes"`, "at Caddyfile:3"},
		{"no reminders", "{\n\tkeygate {\n\t\texpiry_reminders\n\t}\n}\n:8080 {\n\trespond ok\n}", `expiry_reminders needs one or more durations before expiry`, "at Caddyfile:3"},
		{"bad reminder", "{\n\tkeygate {\n\t\texpiry_reminders 7d soon\n\t}\n}\n:8080 {\n\trespond ok\n}", `expiry_reminders takes positive durations such as 7d or 12h, not "soon"`, "at Caddyfile:3"},
		{"bad preload", "{\n\tkeygate {\n\t\tpreload_keys lots\n\t}\n}\n:8080 {\n\trespond ok\n}", `preload_keys must be a whole number, 0 for none, not "lots"`, "at Caddyfile:3"},
		{"bootstrap without email", "{\n\tkeygate {\n\t\tbootstrap_admin\n\t}\n}\n:8080 {\n\trespond ok\n}", `bootstrap_admin takes an email`, "at Caddyfile:3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(tc.caddyfile), map[string]any{"filename": "Caddyfile"})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.line) {
				t.Fatalf("got error %v\nwant one containing %s and %s", err, tc.want, tc.line)
			}
		})
	}
}

func adapt(t *testing.T, caddyfile string) []byte {
	t.Helper()
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(cfg, []byte(`"keygate"`)) {
		t.Fatal("no keygate in the adapted config")
	}
	return cfg
}

// `stale_if_error off` is a negative duration in JSON, where 0 would mean the default.
func TestCaddyfileStaleIfErrorOff(t *testing.T) {
	got := adapt(t, "{\n\tkeygate {\n\t\tstale_if_error off\n\t}\n}\n:8080 {\n\tkeygate\n\trespond ok\n}")
	if want := `"keygate":{"stale_if_error":-1}`; !bytes.Contains(got, []byte(want)) {
		t.Errorf("adapted config lacks %s\nin %s", want, got)
	}
}
