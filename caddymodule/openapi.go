package caddymodule

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/keygate/keygate/authcore"
)

// openapiJSON is the OpenAPI 3.1 document of every route in the route table, with the
// default prefixes. It is the one copy: the repository's, served as is, or with the
// configured prefixes in its paths. Tests check it against the route table and validate
// every exchange of the end-to-end suite against it.
//
//go:embed openapi.json
var openapiJSON []byte

// defaultPrefixes are the prefixes the embedded document's paths start with, by routePrefix.
var defaultPrefixes = prefixPaths{underAuth: "/v1/auth/", underAPI: "/v1/", underSCIM: "/scim/v2/"}

// openapiDocument is the document one handler serves.
type openapiDocument struct {
	body []byte
	etag string
}

// newOpenAPIDocument is the document with prefixes, by routePrefix, in its paths. The
// paths are rewritten rather than a servers URL set, since the prefixes move apart.
func newOpenAPIDocument(prefixes prefixPaths) (openapiDocument, error) {
	body := openapiJSON
	if prefixes != defaultPrefixes {
		var err error
		if body, err = movePaths(openapiJSON, prefixes); err != nil {
			return openapiDocument{}, fmt.Errorf("keygate: the OpenAPI document: %w", err)
		}
	}
	sum := sha256.Sum256(body)
	return openapiDocument{body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}, nil
}

// movePaths rewrites the keys of doc's paths from the default prefixes to prefixes. Each
// path names its prefix by the route it documents, so a path of the auth prefix is told
// from one of the API prefix that happens to start the same.
func movePaths(doc []byte, prefixes prefixPaths) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, err
	}
	var paths map[string]json.RawMessage
	if err := json.Unmarshal(top["paths"], &paths); err != nil {
		return nil, err
	}
	moved := make(map[string]json.RawMessage, len(paths))
	for p, item := range paths {
		rt := routeDocumentedAt(p)
		if rt == nil {
			return nil, fmt.Errorf("path %s documents no route", p)
		}
		moved[prefixes[rt.under]+rt.openapiPath()] = item
	}
	var err error
	if top["paths"], err = json.Marshal(moved); err != nil {
		return nil, err
	}
	return json.Marshal(top)
}

// routeDocumentedAt is a route the document's path p (default prefixes) is for, or nil.
func routeDocumentedAt(p string) *route {
	for i := range routes {
		if rt := &routes[i]; defaultPrefixes[rt.under]+rt.openapiPath() == p {
			return rt
		}
	}
	return nil
}

// openapiPath is the route's path below its prefix in OpenAPI's template syntax:
// {token...} is {token}.
func (rt *route) openapiPath() string {
	return strings.ReplaceAll(rt.path, "...}", "}")
}

// serveOpenAPI answers with the document. It needs no credential: it holds no secret and
// describes what any client may call. It changes only with the binary or the prefixes,
// so caches may keep it a while and revalidate it by its ETag.
func (h *Handler) serveOpenAPI(w http.ResponseWriter, r *http.Request, _ authcore.Actor) error {
	hd := w.Header()
	hd.Set("Cache-Control", "public, max-age=300")
	hd.Set("ETag", h.openapi.etag)
	if etagMatches(r.Header.Get("If-None-Match"), h.openapi.etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	hd.Set("Content-Type", "application/json")
	hd.Set("X-Content-Type-Options", "nosniff")
	_, err := w.Write(h.openapi.body)
	return err
}

// etagMatches reports whether an If-None-Match header names etag, weakly compared as
// RFC 9110 has it for that header.
func etagMatches(ifNoneMatch, etag string) bool {
	for _, tag := range strings.Split(ifNoneMatch, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}
