package caddymodule

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/keygate/keygate/authcore"
)

// When the store cannot answer, a credential that needs it gets 503 StoreUnavailable
// through a real Caddy, never a 401 that would tell the client its key is bad.
func TestStoreOutageAnswers503(t *testing.T) {
	site := newTestSite(t)
	port := site.load(t, "ok")
	t.Cleanup(func() { caddy.Stop() })

	_, state := sharedStateFor(t, "sqlite:"+site.db+"|")
	state.store.Close() // the database goes away under the running gateway

	key, _, _ := authcore.NewKey()
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/", port), nil)
	req.Header.Set("ApiKey", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct{ Code, Message string }
	json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != http.StatusServiceUnavailable || body.Code != "StoreUnavailable" {
		t.Fatalf("got %d %+v, want 503 StoreUnavailable", res.StatusCode, body)
	}
}
