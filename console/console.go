// Package console serves Keygate's web console: plain HTML, CSS and JavaScript modules
// embedded in the binary, with no build step and nothing fetched from elsewhere. The
// console is one more client of the gateway's REST endpoints: it holds no state and
// no privilege of its own, so this package only serves files and sets the headers that
// keep a browser from running anything else on the page.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// Config says where the console lives and where the API it calls lives.
type Config struct {
	// Prefix is the path the console is served under, starting and ending with "/",
	// e.g. "/console/". The same path without the final slash redirects to it.
	Prefix string
	// AuthPrefix and APIPrefix are the handler's endpoint prefixes, e.g. "/v1/auth/"
	// and "/v1/": the console's scripts read them from the page.
	AuthPrefix, APIPrefix string
}

// SecurityHeaders are set on every console response. The policy allows only the
// console's own files: no inline script or style, no other origin, no framing, and
// fetch() only to this origin, so an injected string can neither run nor send data out.
var SecurityHeaders = map[string]string{
	"Content-Security-Policy":      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"X-Frame-Options":              "DENY",
	"X-Content-Type-Options":       "nosniff",
	"Referrer-Policy":              "no-referrer",
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
}

// file is one embedded file, ready to serve.
type file struct {
	body        []byte
	contentType string
	etag        string
}

// contentTypes are set explicitly: module scripts are refused under nosniff unless
// served as JavaScript, whatever the host's MIME table says.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

type handler struct {
	prefix string
	files  map[string]file // by path under the prefix; "" is the page
}

// Handler serves the console under c.Prefix. It answers GET and HEAD only; any other
// path under the prefix is 404, and a request outside it is a programming error (404).
func Handler(c Config) (http.Handler, error) {
	for _, p := range []string{c.Prefix, c.AuthPrefix, c.APIPrefix} {
		if !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/") {
			return nil, fmt.Errorf("console: prefix %q must start and end with /", p)
		}
	}
	h := &handler{prefix: c.Prefix, files: map[string]file{}}
	err := fs.WalkDir(static, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(name)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(name, "static/")
		if rel == "index.html" {
			if body, err = renderPage(body, c); err != nil {
				return err
			}
			rel = ""
		}
		h.files[rel] = newFile(body, contentTypes[path.Ext(name)])
		return nil
	})
	return h, err
}

// renderPage fills the page's template: the API prefixes, escaped as attribute values.
func renderPage(src []byte, c Config) ([]byte, error) {
	t, err := template.New("index.html").Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, c); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	return b.Bytes(), nil
}

func newFile(body []byte, contentType string) file {
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	sum := sha256.Sum256(body)
	return file{body: body, contentType: contentType, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	for k, v := range SecurityHeaders {
		hdr.Set(k, v)
	}
	p := r.URL.Path
	if p+"/" == h.prefix {
		// Relative links on the page resolve against the directory, so the page must be
		// at the prefix itself. The query is dropped: the console never reads one.
		http.Redirect(w, r, h.prefix, http.StatusMovedPermanently)
		return
	}
	rel, ok := strings.CutPrefix(p, h.prefix)
	f, found := h.files[rel]
	if !ok || !found {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// Revalidated on every load (cheap with the ETag), so an upgraded gateway never
	// runs a stale script against a changed API.
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("ETag", f.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
