package tests

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/caddymodule"
	"github.com/keygate/keygate/storage"
)

// movableClock is the gateways' clock: the system's plus an offset the test moves
// forward, so that a roll's overlap passes without sleeping through it.
type movableClock struct{ offset atomic.Int64 }

// useMovableClock gives the gateways of this process a movableClock until t ends. Call it
// before starting the gateway, so that the clock is restored after Caddy stops.
func useMovableClock(t testing.TB) *movableClock {
	c := &movableClock{}
	t.Cleanup(caddymodule.SetClock(func() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }))
	return c
}

func (c *movableClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// rolledKeyItem is a key as GET and list show it, with the fields of a roll.
type rolledKeyItem struct {
	Metadata struct {
		UID, Name   string
		Annotations map[string]string
	}
	Spec   struct{ Expiry string }
	Status struct {
		IsActive, IsExpired  bool
		LastUsedTime         string
		RolledFrom, RolledTo string
	}
}

// getKey reads a key through the API.
func (g *gateway) getKey(t *testing.T, key, uid string) rolledKeyItem {
	t.Helper()
	var k rolledKeyItem
	if code := g.api(t, key, "GET", "/v1/apiKeys/"+uid, "", &k); code != http.StatusOK {
		t.Fatalf("GET key %s: %d", uid, code)
	}
	return k
}

// roll rolls uid with body as key's holder and returns the status and the answer.
func (g *gateway) roll(t *testing.T, key, uid, body string) (int, createdKeyAnswer, string) {
	t.Helper()
	res, raw := g.call(t, "POST", "/v1/apiKeys/"+uid+"/roll", map[string]string{"ApiKey": key}, body)
	var ans createdKeyAnswer
	if res.StatusCode == http.StatusCreated {
		if err := json.Unmarshal([]byte(raw), &ans); err != nil {
			t.Fatalf("roll answered %q: %v", raw, err)
		}
	}
	return res.StatusCode, ans, raw
}

type createdKeyAnswer struct{ APIKey, UID string }

// expiresAbout fails unless the RFC 3339 time at is within a minute of want.
func expiresAbout(t *testing.T, what, at string, want time.Time) {
	t.Helper()
	got, err := time.Parse(time.RFC3339, at)
	if err != nil || got.Sub(want).Abs() > time.Minute {
		t.Errorf("%s expires %q (%v), want about %s", what, at, err, want.UTC().Format(time.RFC3339))
	}
}

// A roll gives a new key at once; the old one keeps working for the overlap and is
// refused after it as expired, while the new one goes on. Both show the link and their
// last use, and the roll is audited.
func TestRollKeepsBothKeysForTheOverlapThenOnlyTheNew(t *testing.T) {
	clock := useMovableClock(t)
	g := startGateway(t, "")
	s := g.seed(t)
	var old createdKeyAnswer
	if code := g.api(t, s.userKey, "POST", "/v1/apiKeys", keyBody("ci-deploy", "expiryPreset", "60d", ""), &old); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	// The old key is used, so it is cached with its 60-day expiry when the roll comes.
	if r := g.do(t, "/", map[string]string{"ApiKey": old.APIKey}); r.status != http.StatusOK {
		t.Fatalf("old key before the roll: %d %s", r.status, r.body)
	}

	code, rolled, raw := g.roll(t, s.userKey, old.UID, `{"overlap":"2h"}`)
	if code != http.StatusCreated {
		t.Fatalf("roll: %d %s", code, raw)
	}
	if _, ok := authcore.ParseKey(rolled.APIKey); !ok || rolled.UID == "" || rolled.UID == old.UID {
		t.Fatalf("roll answered %s", raw)
	}
	for name, key := range map[string]string{"old key during the overlap": old.APIKey, "new key": rolled.APIKey} {
		if r := g.do(t, "/", map[string]string{"ApiKey": key}); r.status != http.StatusOK || r.echo.Header.Get("X-User-Uid") != s.user.UID {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
	}

	// The pair is linked; the new key has the old one's name, description and lifetime.
	now := time.Now()
	nk, ok := g.getKey(t, s.userKey, rolled.UID), g.getKey(t, s.userKey, old.UID)
	if nk.Metadata.Name != "ci-deploy" || nk.Metadata.Annotations["description"] != "for ci-deploy" || nk.Status.RolledFrom != old.UID || !nk.Status.IsActive {
		t.Errorf("new key %+v", nk)
	}
	expiresAbout(t, "the new key", nk.Spec.Expiry, now.AddDate(0, 0, 60))
	if ok.Status.RolledTo != rolled.UID || ok.Status.IsExpired {
		t.Errorf("old key during the overlap %+v", ok)
	}
	expiresAbout(t, "the old key", ok.Spec.Expiry, now.Add(2*time.Hour))
	// The listing links the pair and shows each key's last use (the gateway writes last
	// uses every 30 seconds; here the store is told directly), so an admin sees when the
	// old key stopped being used.
	oldUse, newUse := now.Add(-time.Minute).UTC().Truncate(time.Millisecond), now.UTC().Truncate(time.Millisecond)
	if err := g.store.TouchAPIKeys(t.Context(), map[string]time.Time{old.UID: oldUse, rolled.UID: newUse}); err != nil {
		t.Fatal(err)
	}
	var l struct{ Items []rolledKeyItem }
	g.api(t, s.userKey, "GET", "/v1/apiKeys", "", &l)
	links := map[string]string{}
	for _, it := range l.Items {
		links[it.Metadata.UID] = it.Status.RolledFrom + ">" + it.Status.RolledTo + " " + it.Status.LastUsedTime
	}
	if links[old.UID] != ">"+rolled.UID+" "+oldUse.Format("2006-01-02T15:04:05.000Z") ||
		links[rolled.UID] != old.UID+"> "+newUse.Format("2006-01-02T15:04:05.000Z") || !strings.HasPrefix(links[s.userKeyRecord.UID], "> ") {
		t.Errorf("listing links and last uses %v", links)
	}

	// After the overlap, only the new key works; the old is refused as expired.
	clock.advance(2*time.Hour + time.Second)
	if r := g.do(t, "/", map[string]string{"ApiKey": old.APIKey}); r.status != http.StatusUnauthorized || r.err.Code != "CredentialExpired" {
		t.Fatalf("old key after the overlap: %d %s", r.status, r.body)
	}
	if r := g.do(t, "/", map[string]string{"ApiKey": rolled.APIKey}); r.status != http.StatusOK {
		t.Fatalf("new key after the overlap: %d %s", r.status, r.body)
	}
	if k := g.getKey(t, rolled.APIKey, old.UID); !k.Status.IsExpired {
		t.Errorf("old key after the overlap %+v", k)
	}
	// An expired key cannot be rolled, nor a rolled one again.
	if code, _, raw := g.roll(t, rolled.APIKey, old.UID, ""); code != http.StatusConflict || !strings.Contains(raw, "ApiKeyRolled") {
		t.Errorf("rolling the rolled key again: %d %s", code, raw)
	}

	// The roll is audited, naming both keys and neither secret.
	admin := g.mustKey(t, s.admin, "7d").Key
	var audit struct {
		Items []struct {
			Spec struct {
				Action, Detail string
				Actor          struct{ UID string }
				Target         struct{ Kind, UID string }
			}
		}
	}
	g.api(t, admin, "GET", "/v1/audit", "", &audit)
	found := 0
	for _, e := range audit.Items {
		if e.Spec.Action != "apikey.roll" {
			continue
		}
		found++
		if e.Spec.Target.UID != old.UID || e.Spec.Target.Kind != "apikey" || e.Spec.Actor.UID != s.user.UID || !strings.Contains(e.Spec.Detail, rolled.UID) {
			t.Errorf("audit row %+v", e.Spec)
		}
		if strings.Contains(e.Spec.Detail, rolled.APIKey[3:20]) || strings.Contains(e.Spec.Detail, old.APIKey[3:20]) {
			t.Errorf("audit row holds a key: %q", e.Spec.Detail)
		}
	}
	if found != 1 {
		t.Errorf("%d apikey.roll audit rows, want 1", found)
	}
}

// The overlap is a Go duration from 0 to 7 days, 24 hours by default; anything else is a
// 400 that says so, and changes nothing.
func TestRollOverlapBounds(t *testing.T) {
	g := startGatewayWith(t, "max_keys_per_user 0", "") // many keys of one user below
	s := g.seed(t)
	for _, bad := range []string{`{"overlap":"8d"}`, `{"overlap":"169h"}`, `{"overlap":"-1s"}`, `{"overlap":"soon"}`, `{"overlap":24}`, `{"overlap":`} {
		code, _, raw := g.roll(t, s.userKey, s.userKeyRecord.UID, bad)
		if code != http.StatusBadRequest || !strings.Contains(raw, "BadRequest") {
			t.Errorf("roll with %s: %d %s", bad, code, raw)
		}
	}
	if k := g.getKey(t, s.userKey, s.userKeyRecord.UID); k.Status.RolledTo != "" {
		t.Fatalf("a refused roll rolled the key: %+v", k)
	}
	if code, _, raw := g.roll(t, s.userKey, s.userKeyRecord.UID, `{"overlap":"8d"}`); !strings.Contains(raw, "168h") {
		t.Errorf("the refusal does not say the bound: %d %s", code, raw)
	}

	for _, tc := range []struct {
		body string
		ends time.Duration
	}{{"", 24 * time.Hour}, {`{}`, 24 * time.Hour}, {`{"overlap":"168h"}`, 7 * 24 * time.Hour}, {`{"overlap":"90m"}`, 90 * time.Minute}} {
		k := g.mustKey(t, s.user, "30d")
		code, _, raw := g.roll(t, s.userKey, k.Record.UID, tc.body)
		if code != http.StatusCreated {
			t.Fatalf("roll with %q: %d %s", tc.body, code, raw)
		}
		expiresAbout(t, "old key after a roll with "+tc.body, g.getKey(t, s.userKey, k.Record.UID).Spec.Expiry, time.Now().Add(tc.ends))
	}
	// An overlap past the old key's own expiry leaves that expiry as it was.
	k := g.mustKey(t, s.user, "7d")
	if code, _, raw := g.roll(t, s.userKey, k.Record.UID, `{"overlap":"168h"}`); code != http.StatusCreated {
		t.Fatalf("roll: %d %s", code, raw)
	}
	if got := g.getKey(t, s.userKey, k.Record.UID).Spec.Expiry; got != k.Record.ExpiresAt.UTC().Format("2006-01-02T15:04:05.000Z07:00") {
		t.Errorf("a long overlap moved the expiry from %v to %s", k.Record.ExpiresAt, got)
	}
	// No overlap: the old key is refused at once, as expired.
	k = g.mustKey(t, s.user, "30d")
	if r := g.do(t, "/", map[string]string{"ApiKey": k.Key}); r.status != http.StatusOK {
		t.Fatal(r.status)
	}
	code, rolled, raw := g.roll(t, s.userKey, k.Record.UID, `{"overlap":"0s"}`)
	if code != http.StatusCreated {
		t.Fatalf("roll with no overlap: %d %s", code, raw)
	}
	if r := g.do(t, "/", map[string]string{"ApiKey": k.Key}); r.err.Code != "CredentialExpired" {
		t.Errorf("old key after a roll with no overlap: %d %s", r.status, r.body)
	}
	if r := g.do(t, "/", map[string]string{"ApiKey": rolled.APIKey}); r.status != http.StatusOK {
		t.Errorf("new key: %d %s", r.status, r.body)
	}
}

// Who may edit a key may roll it: its owner and the tenant's admins; another user gets
// a 404, as for any key they cannot see. A revoked or expired key cannot be rolled; a
// user at the key limit cannot roll (the old key counts until deleted).
func TestRollPolicyAndRefusals(t *testing.T) {
	g := startGatewayWith(t, "max_keys_per_user 3", "")
	s := g.seed(t) // the user holds one key
	other := g.mustUser(t, "other@acme.test", storage.RoleUser)
	otherKey := g.mustKey(t, other, "30d").Key
	admin := g.mustKey(t, s.admin, "30d").Key

	if code, _, raw := g.roll(t, otherKey, s.userKeyRecord.UID, ""); code != http.StatusNotFound {
		t.Errorf("another user rolled the key: %d %s", code, raw)
	}
	if code, _, raw := g.roll(t, "", s.userKeyRecord.UID, ""); code != http.StatusUnauthorized {
		t.Errorf("a roll without a credential: %d %s", code, raw)
	}
	code, byAdmin, raw := g.roll(t, admin, s.userKeyRecord.UID, `{"overlap":"1h"}`)
	if code != http.StatusCreated {
		t.Fatalf("the tenant admin's roll of the user's key: %d %s", code, raw)
	}
	if r := g.do(t, "/", map[string]string{"ApiKey": byAdmin.APIKey}); r.status != http.StatusOK || r.echo.Header.Get("X-User-Uid") != s.user.UID {
		t.Errorf("the key an admin rolled is not the user's: %d %s", r.status, r.body)
	}

	revoked := g.mustKey(t, s.user, "30d") // the user's third key: the limit
	if code := g.api(t, s.userKey, "PUT", "/v1/apiKeys/"+revoked.Record.UID+"/state", `{"isActive":false}`, nil); code != http.StatusNoContent {
		t.Fatalf("revoke: %d", code)
	}
	if code, _, raw := g.roll(t, s.userKey, revoked.Record.UID, ""); code != http.StatusConflict || !strings.Contains(raw, "ApiKeyRevoked") {
		t.Errorf("roll of a revoked key: %d %s", code, raw)
	}
	if code, _, raw := g.roll(t, byAdmin.APIKey, byAdmin.UID, ""); code != http.StatusConflict || !strings.Contains(raw, "ApiKeyLimitReached") {
		t.Errorf("roll at the key limit: %d %s", code, raw)
	}
	if code := g.api(t, s.userKey, "DELETE", "/v1/apiKeys/"+revoked.Record.UID, "", nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	g.expiredKey(t, s.user, "old", "")
	var l struct{ Items []rolledKeyItem }
	g.api(t, s.userKey, "GET", "/v1/apiKeys", "", &l)
	for _, it := range l.Items {
		if it.Metadata.Name == "old" {
			if code, _, raw := g.roll(t, s.userKey, it.Metadata.UID, ""); code != http.StatusConflict || !strings.Contains(raw, "ApiKeyExpired") {
				t.Errorf("roll of an expired key: %d %s", code, raw)
			}
		}
	}
	if code, _, raw := g.roll(t, s.userKey, "0123456789abcdef01234567", ""); code != http.StatusNotFound {
		t.Errorf("roll of an unknown key: %d %s", code, raw)
	}
}

// keygate apikey roll, run as its own process beside a running gateway that has the old
// key cached: the gateway learns of the earlier expiry through the store's change feed,
// so the old key is refused once the overlap is over, not when its cache entry ages out.
func TestCLIRollsAKeyTheGatewayHonours(t *testing.T) {
	clock := useMovableClock(t)
	s, g := startCLIGateway(t)
	s.ok("tenant", "create", "--name", "acme")
	s.ok("user", "create", "--tenant", "acme", "--email", "dev@acme.test", "--role", "user")
	var old struct{ APIKey, UID string }
	s.json(&old, "apikey", "create", "--email", "dev@acme.test", "--name", "ci", "--description", "CI runner", "--expires", "30d")
	if r := g.do(t, "/", map[string]string{"ApiKey": old.APIKey}); r.status != http.StatusOK {
		t.Fatalf("old key: %d %s", r.status, r.body)
	}

	for _, bad := range []string{"8d", "169h", "-1m", "later"} {
		if r := s.run("apikey", "roll", "--uid", old.UID, "--overlap", bad); r.code == 0 || !strings.Contains(r.stderr, "168h") {
			t.Errorf("roll --overlap %s: exit %d, stderr %q", bad, r.code, r.stderr)
		}
	}
	var rolled struct{ APIKey, UID, RolledFrom, Expiry string }
	s.json(&rolled, "apikey", "roll", "--uid", old.UID, "--overlap", "1h")
	if _, ok := authcore.ParseKey(rolled.APIKey); !ok || rolled.RolledFrom != old.UID || rolled.UID == old.UID {
		t.Fatalf("apikey roll printed %+v", rolled)
	}
	expiresAbout(t, "the new key", rolled.Expiry, time.Now().AddDate(0, 0, 30))
	for name, key := range map[string]string{"old key in the overlap": old.APIKey, "new key": rolled.APIKey} {
		if r := g.do(t, "/", map[string]string{"ApiKey": key}); r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
	}
	if out := s.ok("apikey", "show", "--uid", old.UID); !strings.Contains(out, rolled.UID) || !strings.Contains(out, "rolled to") {
		t.Errorf("apikey show of the old key:\n%s", out)
	}
	if r := s.run("apikey", "roll", "--uid", old.UID); r.code == 0 || !strings.Contains(r.stderr, "rolled already") {
		t.Errorf("a second roll of the old key: exit %d, stderr %q", r.code, r.stderr)
	}

	// Moving the clock ages cache entries out too; a roll with no overlap does not, so
	// only the change feed can end the cached key at once.
	clock.advance(time.Hour + time.Second)
	eventually(t, "the old key after the overlap", func() bool {
		return g.do(t, "/", map[string]string{"ApiKey": old.APIKey}).err.Code == "CredentialExpired"
	})
	if r := g.do(t, "/", map[string]string{"ApiKey": rolled.APIKey}); r.status != http.StatusOK {
		t.Fatalf("new key after the overlap: %d %s", r.status, r.body)
	}
	var third struct{ APIKey string }
	s.json(&third, "apikey", "roll", "--uid", rolled.UID, "--overlap", "0s")
	eventually(t, "the cached key rolled with no overlap", func() bool {
		return g.do(t, "/", map[string]string{"ApiKey": rolled.APIKey}).err.Code == "CredentialExpired"
	})
	if r := g.do(t, "/", map[string]string{"ApiKey": third.APIKey}); r.status != http.StatusOK {
		t.Fatalf("the third key: %d %s", r.status, r.body)
	}
}
