package tests

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/keygate/keygate/storage"
)

// scimUser is a SCIM User resource as identity providers decode it.
type scimUser struct {
	Schemas    []string `json:"schemas"`
	ID         string   `json:"id"`
	ExternalID string   `json:"externalId"`
	UserName   string   `json:"userName"`
	Name       struct {
		GivenName  string `json:"givenName"`
		FamilyName string `json:"familyName"`
	} `json:"name"`
	Active bool `json:"active"`
	Groups []struct {
		Value string `json:"value"`
	} `json:"groups"`
	Meta struct {
		ResourceType string `json:"resourceType"`
		Location     string `json:"location"`
	} `json:"meta"`
}

// scimGroup is a SCIM Group resource.
type scimGroup struct {
	ID          string `json:"id"`
	ExternalID  string `json:"externalId"`
	DisplayName string `json:"displayName"`
	Members     []struct {
		Value string `json:"value"`
	} `json:"members"`
}

// scimListResponse is a SCIM ListResponse.
type scimListResponse[T any] struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	StartIndex   int      `json:"startIndex"`
	ItemsPerPage int      `json:"itemsPerPage"`
	Resources    []T      `json:"Resources"`
}

// scimErrorBody is a SCIM error response.
type scimErrorBody struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType"`
	Detail   string   `json:"detail"`
}

// scimTokenAnswer is the answer to POST /v1/tenants/{uid}/scim/token.
type scimTokenAnswer struct {
	Token      string `json:"token"`
	Hint       string `json:"hint"`
	CreatedAt  string `json:"createdAt"`
	LastUsedAt string `json:"lastUsedAt"`
	BaseURL    string `json:"baseUrl"`
}

// rotateSCIMToken makes the tenant's SCIM token as the admin whose key this is.
func (g *gateway) rotateSCIMToken(t *testing.T, adminKey, tenantUID string) scimTokenAnswer {
	t.Helper()
	var tok scimTokenAnswer
	if code := g.api(t, adminKey, http.MethodPost, "/v1/tenants/"+tenantUID+"/scim/token", "", &tok); code != http.StatusCreated || tok.Token == "" {
		t.Fatalf("POST scim/token = %d %+v, want 201 with a token", code, tok)
	}
	return tok
}

// scim sends a SCIM request with the bearer token and decodes a success into out; it
// checks that every answer is SCIM JSON, errors in SCIM's error shape.
func (g *gateway) scim(t *testing.T, token, method, path, body string, out any) (int, scimErrorBody) {
	t.Helper()
	header := map[string]string{}
	if token != "" {
		header["Authorization"] = "Bearer " + token
	}
	req, err := http.NewRequest(method, g.url+"/scim/v2"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := (&http.Client{}).Do(withTest(req, t))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var raw json.RawMessage
	if res.StatusCode == http.StatusNoContent {
		return res.StatusCode, scimErrorBody{}
	}
	if err := json.NewDecoder(res.Body).Decode(&raw); err != nil || res.Header.Get("Content-Type") != "application/scim+json" {
		t.Fatalf("%s %s: %d %q, body not SCIM JSON (%v)", method, path, res.StatusCode, res.Header.Get("Content-Type"), err)
	}
	var e scimErrorBody
	if res.StatusCode >= 400 {
		if json.Unmarshal(raw, &e) != nil || len(e.Schemas) != 1 || e.Schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" || e.Status != strconv.Itoa(res.StatusCode) {
			t.Fatalf("%s %s: %d with a body that is not a SCIM error: %s", method, path, res.StatusCode, raw)
		}
		return res.StatusCode, e
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return res.StatusCode, e
}

// filterQuery is ?filter=<f> escaped as identity providers send it.
func filterQuery(f string) string { return "?filter=" + url.QueryEscape(f) }

// scimSetup is a gateway with a seeded tenant, its admin's key and a SCIM token.
type scimSetup struct {
	g        *gateway
	s        seed
	adminKey string
	token    string
}

func startSCIM(t *testing.T) scimSetup {
	g := startGateway(t, "")
	s := g.seed(t)
	adminKey := g.mustKey(t, s.admin, "30d").Key
	return scimSetup{g: g, s: s, adminKey: adminKey, token: g.rotateSCIMToken(t, adminKey, s.tenant.UID).Token}
}

// storedUser reads a user from the store.
func (x scimSetup) storedUser(t *testing.T, uid string) storage.User {
	t.Helper()
	u, err := x.g.store.UserByUID(t.Context(), uid)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// A tenant admin makes the tenant's SCIM token: shown once, then only its metadata; a
// rotation refuses the old token at once; a deletion ends provisioning. Users who are not
// admins, and admins of other tenants, cannot touch it; each change is audited.
func TestSCIMTokenRotation(t *testing.T) {
	x := startSCIM(t)
	g, tenant := x.g, x.s.tenant.UID
	first := x.token
	if !strings.HasPrefix(first, "kgscim_") || !strings.HasSuffix(g.rotateSCIMToken(t, x.adminKey, tenant).BaseURL, "/scim/v2") {
		t.Fatalf("token %q: want kgscim_..., and a base URL ending in /scim/v2", first)
	}
	if code, e := g.scim(t, first, http.MethodGet, "/ServiceProviderConfig", "", nil); code != http.StatusUnauthorized {
		t.Fatalf("the rotated token: %d %+v, want 401", code, e)
	}
	tok := g.rotateSCIMToken(t, x.adminKey, tenant)
	var config struct {
		Patch struct{ Supported bool } `json:"patch"`
	}
	if code, _ := g.scim(t, tok.Token, http.MethodGet, "/ServiceProviderConfig", "", &config); code != http.StatusOK || !config.Patch.Supported {
		t.Fatalf("the new token: %d %+v, want 200 with patch supported", code, config)
	}

	var meta map[string]any
	if code := g.api(t, x.adminKey, http.MethodGet, "/v1/tenants/"+tenant+"/scim/token", "", &meta); code != http.StatusOK {
		t.Fatalf("GET scim/token = %d", code)
	}
	raw, _ := json.Marshal(meta)
	if _, ok := meta["token"]; ok || strings.Contains(string(raw), tok.Token[10:]) || meta["hint"] != tok.Hint || meta["lastUsedAt"] == nil {
		t.Errorf("GET scim/token = %s: want the hint and last use, never the secret", raw)
	}

	userKey, otherAdmin := x.s.userKey, g.otherTenantAdminKey(t)
	for _, method := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
		if code := g.api(t, userKey, method, "/v1/tenants/"+tenant+"/scim/token", "", nil); code != http.StatusForbidden {
			t.Errorf("%s scim/token as a user: %d, want 403", method, code)
		}
		if code := g.api(t, otherAdmin, method, "/v1/tenants/"+tenant+"/scim/token", "", nil); code != http.StatusNotFound {
			t.Errorf("%s scim/token as another tenant's admin: %d, want 404", method, code)
		}
	}

	if code := g.api(t, x.adminKey, http.MethodDelete, "/v1/tenants/"+tenant+"/scim/token", "", nil); code != http.StatusNoContent {
		t.Fatalf("DELETE scim/token = %d", code)
	}
	if code, _ := g.scim(t, tok.Token, http.MethodGet, "/Users", "", nil); code != http.StatusUnauthorized {
		t.Errorf("the deleted token: %d, want 401", code)
	}
	if code := g.api(t, x.adminKey, http.MethodGet, "/v1/tenants/"+tenant+"/scim/token", "", nil); code != http.StatusNotFound {
		t.Errorf("GET scim/token after the delete: %d, want 404", code)
	}
	actions := strings.Join(g.auditActions(t, x.adminKey), " ")
	if strings.Count(actions, "scim.token_rotate") != 3 || !strings.Contains(actions, "scim.token_delete") {
		t.Errorf("audit %s: want three rotations and a deletion", actions)
	}
}

// Refusals say nothing of tenants: no token, a malformed one and a well-formed unknown
// one are the same 401; refused tokens count towards blocking the client (429).
func TestSCIMRefusesUnknownTokensAlikeAndThrottles(t *testing.T) {
	g := startGatewayWith(t, "client_failure_limit 3", "")
	g.seed(t)
	unknown := "kgscim_" + strings.Repeat("A", 43)
	var details []string
	for _, tok := range []string{"", "kg_nonsense", unknown} {
		code, e := g.scim(t, tok, http.MethodGet, "/Users", "", nil)
		if code != http.StatusUnauthorized {
			t.Fatalf("token %q: %d, want 401", tok, code)
		}
		details = append(details, e.Detail)
	}
	if details[1] != details[2] {
		t.Errorf("a malformed and an unknown token are told apart: %q, %q", details[1], details[2])
	}
	g.scim(t, unknown, http.MethodGet, "/Groups", "", nil)
	code, e := g.scim(t, unknown, http.MethodGet, "/Users", "", nil)
	if code != http.StatusTooManyRequests {
		t.Fatalf("after three refused tokens: %d %+v, want 429", code, e)
	}
}

// With scim_prefix moved, SCIM is served there and the token's base URL says so; the
// default path is then the upstream's, behind a credential like any other.
func TestSCIMPrefixMoves(t *testing.T) {
	g := startGateway(t, "{\n\t\tscim_prefix /provisioning/\n\t}")
	s := g.seed(t)
	adminKey := g.mustKey(t, s.admin, "30d").Key
	tok := g.rotateSCIMToken(t, adminKey, s.tenant.UID)
	if !strings.HasSuffix(tok.BaseURL, "/provisioning") {
		t.Errorf("baseUrl %q, want it to end in /provisioning", tok.BaseURL)
	}
	bearer := map[string]string{"Authorization": "Bearer " + tok.Token}
	if res, body := g.call(t, http.MethodGet, "/provisioning/Users", bearer, ""); res.StatusCode != http.StatusOK || !strings.Contains(body, `"totalResults":2`) {
		t.Errorf("GET /provisioning/Users: %d %s", res.StatusCode, body)
	}
	if res, _ := g.call(t, http.MethodGet, "/scim/v2/Users", bearer, ""); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /scim/v2/Users with the prefix moved: %d, want 401 (the upstream's, behind the gate)", res.StatusCode)
	}
}
