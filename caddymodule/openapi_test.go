package caddymodule

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/keygate/keygate/authcore"
)

// loadOpenAPI parses and validates body as an OpenAPI 3.1 document.
func loadOpenAPI(t *testing.T, body []byte) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("the OpenAPI document does not load: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi is %q, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	return doc
}

// operations lists "METHOD path" for every operation of doc.
func operations(doc *openapi3.T) []string {
	var ops []string
	for p, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, method+" "+p)
		}
	}
	slices.Sort(ops)
	return ops
}

// routeOperations lists "METHOD path" for every route in the table, under prefixes.
func routeOperations(prefixes prefixPaths) []string {
	var ops []string
	for i := range routes {
		rt := &routes[i]
		ops = append(ops, rt.method+" "+prefixes[rt.under]+rt.openapiPath())
	}
	slices.Sort(ops)
	return ops
}

func TestOpenAPIDocumentIsValid31(t *testing.T) {
	doc := loadOpenAPI(t, openapiJSON)
	if !doc.IsOpenAPI31OrLater() {
		t.Error("kin-openapi does not read the document as OpenAPI 3.1")
	}
	for _, scheme := range []string{"ApiKeyHeader", "ApiKeyQuery", "AuthorizationHeader", "AuthorizationCookie"} {
		if doc.Components.SecuritySchemes[scheme] == nil {
			t.Errorf("no security scheme %s", scheme)
		}
	}
}

// Adding a route without documenting it, or documenting one that is not served, fails
// here.
func TestOpenAPIDocumentsEveryRouteAndNoOther(t *testing.T) {
	documented := operations(loadOpenAPI(t, openapiJSON))
	served := routeOperations(defaultPrefixes)
	for _, op := range served {
		if !slices.Contains(documented, op) {
			t.Errorf("route %s has no operation in openapi.json", op)
		}
	}
	for _, op := range documented {
		if !slices.Contains(served, op) {
			t.Errorf("openapi.json documents %s, which is no route", op)
		}
	}
}

// cannotAnswer are the errors an operation taking no credential cannot answer, by
// operation id: nothing it does can be refused as a credential, counted, or (for a reset
// request, answered before any store read) wait for the store.
var cannotAnswer = map[string][]string{
	"authOrg":              {"401", "429"},
	"oidcLogin":            {"401"}, // it takes no credential; a refused provider is a 404 or 502
	"passwordResetRequest": {"401", "503"},
	"passwordActivate":     {"401"}, // a bad token is a 404
}

// Every operation that takes a credential says which errors it answers: a credential
// that does not authenticate, a blocked client, the store down.
func TestOpenAPIOperationsListTheirErrors(t *testing.T) {
	doc := loadOpenAPI(t, openapiJSON)
	for p, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "openapi" {
				continue
			}
			for _, status := range []string{"401", "429", "503"} {
				if slices.Contains(cannotAnswer[op.OperationID], status) {
					continue
				}
				if op.Responses.Value(status) == nil {
					t.Errorf("%s %s does not document %s", method, p, status)
				}
			}
		}
	}
}

func TestOpenAPIServedWithTheConfiguredPrefixes(t *testing.T) {
	moved := prefixPaths{underAuth: "/auth/", underAPI: "/api/", underSCIM: "/provisioning/"}
	d, err := newOpenAPIDocument(moved)
	if err != nil {
		t.Fatal(err)
	}
	got, want := operations(loadOpenAPI(t, d.body)), routeOperations(moved)
	if !slices.Equal(got, want) {
		t.Errorf("operations with prefixes %v:\n got %v\nwant %v", moved, got, want)
	}
	def, err := newOpenAPIDocument(defaultPrefixes)
	if err != nil {
		t.Fatal(err)
	}
	if string(def.body) != string(openapiJSON) || def.etag == d.etag {
		t.Error("with the default prefixes the document is the repository's, and its ETag differs from the moved one's")
	}
}

// The prefixes decide by route, not by how a path starts: an API prefix below the auth
// prefix's parent must not move the auth paths.
func TestOpenAPIPrefixesMoveByRoute(t *testing.T) {
	d, err := newOpenAPIDocument(prefixPaths{underAuth: "/v1/auth/", underAPI: "/v2/", underSCIM: "/scim/v2/"})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Paths map[string]json.RawMessage }
	if err := json.Unmarshal(d.body, &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/v1/auth/authenticate", "/v2/users/auth/tokens/revoke", "/v2/openapi.json"} {
		if doc.Paths[p] == nil {
			t.Errorf("no path %s", p)
		}
	}
	for p := range doc.Paths {
		if strings.HasPrefix(p, "/v1/") && !strings.HasPrefix(p, "/v1/auth/") {
			t.Errorf("path %s kept the default API prefix", p)
		}
	}
}

func TestOpenAPIAnswer(t *testing.T) {
	d, err := newOpenAPIDocument(defaultPrefixes)
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{openapi: d}
	serve := func(ifNoneMatch string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/v1/openapi.json", nil)
		if ifNoneMatch != "" {
			r.Header.Set("If-None-Match", ifNoneMatch)
		}
		w := httptest.NewRecorder()
		if err := h.serveOpenAPI(w, r, authcore.Actor{}); err != nil {
			t.Fatal(err)
		}
		return w
	}
	w := serve("")
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" || w.Body.String() != string(openapiJSON) {
		t.Errorf("answer %d %q, %d bytes", w.Code, w.Header().Get("Content-Type"), w.Body.Len())
	}
	if w.Header().Get("ETag") != d.etag || !strings.Contains(w.Header().Get("Cache-Control"), "max-age=") {
		t.Errorf("not cacheable: ETag %q, Cache-Control %q", w.Header().Get("ETag"), w.Header().Get("Cache-Control"))
	}
	for _, tc := range []struct {
		ifNoneMatch string
		want        int
	}{{d.etag, 304}, {`"other", W/` + d.etag, 304}, {"*", 304}, {`"other"`, 200}} {
		if got := serve(tc.ifNoneMatch).Code; got != tc.want {
			t.Errorf("If-None-Match %s: %d, want %d", tc.ifNoneMatch, got, tc.want)
		}
	}
}

// The document's EventType enum is every event type the gateway sends, and no other.
func TestOpenAPIEventTypesAreTheEvents(t *testing.T) {
	doc := loadOpenAPI(t, openapiJSON)
	var documented []string
	for _, v := range doc.Components.Schemas["EventType"].Value.Enum {
		documented = append(documented, v.(string))
	}
	if want := authcore.EventTypes(); !slices.Equal(documented, want) {
		t.Errorf("EventType enum = %v,\nthe events are %v", documented, want)
	}
}
