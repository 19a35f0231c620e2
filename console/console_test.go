package console

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

func serve(t *testing.T, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, target, nil))
	return w
}

func newHandler(t *testing.T, c Config) http.Handler {
	t.Helper()
	h, err := Handler(c)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var defaults = Config{Prefix: "/console/", AuthPrefix: "/v1/auth/", APIPrefix: "/v1/"}

// Every file the page and its modules refer to is embedded and served with a type a
// browser accepts under nosniff: a missing or mistyped module would break the console
// only in a browser.
func TestEveryReferencedFileIsServedWithItsType(t *testing.T) {
	h := newHandler(t, defaults)
	refs := regexp.MustCompile(`(?:src|href)="([^"#:]+)"|from '(\./[^']+)'`)
	checked := map[string]bool{}
	var check func(file string)
	check = func(file string) {
		if checked[file] {
			return
		}
		checked[file] = true
		w := serve(t, h, http.MethodGet, "/console/"+file)
		want := contentTypes[path.Ext(file)]
		if file == "" {
			want = contentTypes[".html"]
		}
		if w.Code != http.StatusOK || want == "" || w.Header().Get("Content-Type") != want {
			t.Fatalf("/console/%s: %d %q", file, w.Code, w.Header().Get("Content-Type"))
		}
		for _, m := range refs.FindAllStringSubmatch(w.Body.String(), -1) {
			ref := m[1] + m[2]
			check(path.Clean(path.Join(path.Dir("/"+file), ref))[1:])
		}
	}
	check("")
	// And nothing is embedded that nothing uses.
	fs.WalkDir(static, "static", func(name string, d fs.DirEntry, _ error) error {
		rel := strings.TrimPrefix(name, "static/")
		if !d.IsDir() && rel != "index.html" && !checked[rel] {
			t.Errorf("%s is embedded but not referenced", rel)
		}
		return nil
	})
}

func TestPrefixesAreEscapedIntoThePage(t *testing.T) {
	h := newHandler(t, Config{Prefix: "/c/", AuthPrefix: `/a"><script>/`, APIPrefix: "/api/"})
	page := serve(t, h, http.MethodGet, "/c/").Body.String()
	if strings.Contains(page, `"><script>`) || !strings.Contains(page, `data-api-prefix="/api/"`) {
		t.Fatalf("prefixes not escaped as attribute values:\n%s", page)
	}
}

func TestRoutingAndHeaders(t *testing.T) {
	h := newHandler(t, defaults)
	for _, tc := range []struct {
		method, target string
		code           int
		location       string
	}{
		{http.MethodGet, "/console", http.StatusMovedPermanently, "/console/"},
		{http.MethodGet, "/console?x=1", http.StatusMovedPermanently, "/console/"},
		{http.MethodGet, "/console/", http.StatusOK, ""},
		{http.MethodHead, "/console/js/app.js", http.StatusOK, ""},
		{http.MethodGet, "/console/index.html", http.StatusNotFound, ""}, // the page is the directory
		{http.MethodGet, "/console/js/", http.StatusNotFound, ""},
		{http.MethodGet, "/elsewhere", http.StatusNotFound, ""},
		{http.MethodDelete, "/console/style.css", http.StatusMethodNotAllowed, ""},
	} {
		w := serve(t, h, tc.method, tc.target)
		if w.Code != tc.code || w.Header().Get("Location") != tc.location {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.target, w.Code, w.Header().Get("Location"), tc.code, tc.location)
		}
		for k, v := range SecurityHeaders {
			if w.Header().Get(k) != v {
				t.Errorf("%s %s: %s is %q", tc.method, tc.target, k, w.Header().Get(k))
			}
		}
	}
}

func TestBadConfigIsRefused(t *testing.T) {
	for _, c := range []Config{
		{Prefix: "console/", AuthPrefix: "/v1/auth/", APIPrefix: "/v1/"},
		{Prefix: "/console", AuthPrefix: "/v1/auth/", APIPrefix: "/v1/"},
		{Prefix: "/console/", AuthPrefix: "", APIPrefix: "/v1/"},
	} {
		if _, err := Handler(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
