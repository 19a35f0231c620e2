package tests

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a webhook receiver as a tenant would run one: it verifies each delivery's
// Standard Webhooks signature itself (not with Keygate's code) and records it.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	secret string
	got    []delivered
	// answer picks the status of the nth request (from 1); nil answers 204.
	answer func(n int, w http.ResponseWriter) bool
}

// delivered is one request the receiver got.
type delivered struct {
	ID, Type    string
	SignatureOK bool
	Body        string
	Payload     struct {
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
		Data      struct {
			TenantUID string `json:"tenantUid"`
			Target    struct{ Kind, UID string }
			Actor     struct{ UID, Email string }
			Key       *struct{ UID, Name, UserUID, ExpiresAt string }
		} `json:"data"`
	}
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	d := delivered{ID: req.Header.Get("webhook-id"), Body: string(body)}
	_ = json.Unmarshal(body, &d.Payload)
	d.Type = d.Payload.Type
	r.mu.Lock()
	d.SignatureOK = verifySignature(r.secret, d.ID, req.Header.Get("webhook-timestamp"), body, req.Header.Get("webhook-signature"))
	r.got = append(r.got, d)
	n, answer := len(r.got), r.answer
	r.mu.Unlock()
	if answer == nil || !answer(n, w) {
		w.WriteHeader(http.StatusNoContent)
	}
}

// verifySignature checks a webhook-signature header (space-separated "v1,<base64>") as
// the Standard Webhooks specification says: HMAC-SHA256 of "id.timestamp.body" keyed by
// the base64 part of the "whsec_" secret.
func verifySignature(secret, id, timestamp string, body []byte, header string) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || id == "" || timestamp == "" {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(header) {
		v, ok := strings.CutPrefix(sig, "v1,")
		got, err := base64.StdEncoding.DecodeString(v)
		if ok && err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

// deliveries returns what the receiver got so far.
func (r *receiver) deliveries() []delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivered(nil), r.got...)
}

// waitFor waits up to limit until check holds of the deliveries, failing with them if not.
func (r *receiver) waitFor(t testing.TB, what string, limit time.Duration, check func([]delivered) bool) []delivered {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		got := r.deliveries()
		if check(got) {
			return got
		}
		if time.Now().After(deadline) {
			var types []string
			for _, d := range got {
				types = append(types, d.Type+" "+d.ID)
			}
			t.Fatalf("%s: not within %s; the receiver got %d: %v", what, limit, len(got), types)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// webhookAnswer is a registered receiver as the API answers it.
type webhookAnswer struct {
	UID, URL, Secret string
	Events           []string
}

// registerWebhook registers r with the tenant admin's key on g and keeps its secret.
func registerWebhook(t testing.TB, g *gateway, adminKey string, r *receiver, events ...string) webhookAnswer {
	t.Helper()
	req := map[string]any{"url": r.URL + "/hooks", "description": "test receiver"}
	if len(events) > 0 {
		req["events"] = events
	}
	body, _ := json.Marshal(req)
	res, raw := g.call(t, "POST", "/v1/webhooks", map[string]string{"ApiKey": adminKey}, string(body))
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("register webhook: %d %s", res.StatusCode, raw)
	}
	var w webhookAnswer
	if err := json.Unmarshal([]byte(raw), &w); err != nil || !strings.HasPrefix(w.Secret, "whsec_") {
		t.Fatalf("register webhook answered %q (%v): want a whsec_ secret", raw, err)
	}
	r.mu.Lock()
	r.secret = w.Secret
	r.mu.Unlock()
	return w
}

// countByID counts deliveries per webhook-id.
func countByID(ds []delivered) map[string]int {
	n := map[string]int{}
	for _, d := range ds {
		n[d.ID]++
	}
	return n
}
