package tests

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const modulePath = "github.com/keygate/keygate"

// External imports that belong to one layer only: Caddy to the composition root, each
// database driver to its own backend.
var (
	caddyImports        = "github.com/caddyserver/"
	pgxImports          = "github.com/jackc/pgx/"
	sqliteDriverImports = "modernc.org/sqlite"
	caddyOrDriver       = []string{caddyImports, pgxImports, sqliteDriverImports}
)

// layoutRule says what the packages matching pkg may import (non-test imports). mayImport
// lists module packages; everything outside the module is allowed unless stdOnly or under
// a forbidden prefix. Package patterns are relative to the module; "x/..." means x and
// the packages below it, "..." every package.
type layoutRule struct {
	pkg       string
	mayImport []string
	stdOnly   bool
	forbidden []string
}

// layout is the design's import graph: every package appears here (the first matching
// row applies), and no package imports "up".
var layout = []layoutRule{
	{pkg: "storage", stdOnly: true},
	{pkg: "storage/sqlstore", mayImport: []string{"storage"}, forbidden: caddyOrDriver},
	{pkg: "storage/sqlite", mayImport: []string{"storage", "storage/sqlstore"}, forbidden: []string{caddyImports, pgxImports}},
	{pkg: "storage/postgres", mayImport: []string{"storage", "storage/sqlstore"}, forbidden: []string{caddyImports, sqliteDriverImports}},
	{pkg: "storage/postgres/pgtest", forbidden: []string{caddyImports, sqliteDriverImports}},
	{pkg: "storage/conformance", mayImport: []string{"storage"}, forbidden: caddyOrDriver},
	// authcore's parts, each using only those listed before it: the vocabulary, then
	// protection, verification, sessions, single sign-on, and the management service.
	{pkg: "authcore", mayImport: []string{"storage"}, forbidden: caddyOrDriver},
	{pkg: "authcore/protect", mayImport: []string{"authcore"}, forbidden: caddyOrDriver},
	{pkg: "authcore/credentials", mayImport: []string{"authcore", "storage"}, forbidden: caddyOrDriver},
	{pkg: "authcore/sessions", mayImport: []string{"authcore", "authcore/protect", "authcore/credentials", "storage"}, forbidden: caddyOrDriver},
	{pkg: "authcore/sso", mayImport: []string{"authcore", "storage"}, forbidden: caddyOrDriver},
	{pkg: "authcore/webhooks", mayImport: []string{"authcore", "storage"}, forbidden: caddyOrDriver},
	{pkg: "authcore/manage", mayImport: []string{"authcore", "authcore/protect", "authcore/sso", "authcore/webhooks", "storage"}, forbidden: caddyOrDriver},
	{pkg: "console", stdOnly: true},
	{pkg: "caddymodule", mayImport: []string{"authcore/...", "storage/...", "console"}},
	{pkg: "cmd/keygate", mayImport: []string{"caddymodule"}},
	{pkg: "tests/...", mayImport: []string{"..."}},
}

func TestPackagesImportOnlyWhatTheLayoutAllows(t *testing.T) {
	for _, p := range modulePackages(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, modulePath), "/")
		rule, ok := ruleFor(rel)
		if !ok {
			t.Errorf("package %s has no row in the layout table", rel)
			continue
		}
		for _, imp := range p.Imports {
			if why := rule.refuses(imp); why != "" {
				t.Errorf("%s imports %s: %s", rel, imp, why)
			}
		}
	}
}

func ruleFor(pkg string) (layoutRule, bool) {
	for _, r := range layout {
		if matches(r.pkg, pkg) {
			return r, true
		}
	}
	return layoutRule{}, false
}

// refuses says why the rule forbids importing imp, or "" when it allows it.
func (r layoutRule) refuses(imp string) string {
	if isStandard(imp) {
		return ""
	}
	if rel, internal := strings.CutPrefix(imp, modulePath+"/"); internal {
		for _, allowed := range r.mayImport {
			if matches(allowed, rel) {
				return ""
			}
		}
		return "the layout allows it " + moduleImports(r.mayImport)
	}
	if r.stdOnly {
		return "this package imports the standard library only"
	}
	for _, prefix := range r.forbidden {
		if strings.HasPrefix(imp, prefix) {
			return "nothing under " + prefix + " belongs in this package"
		}
	}
	return ""
}

func matches(pattern, pkg string) bool {
	if pattern == "..." {
		return true
	}
	if tree, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == tree || strings.HasPrefix(pkg, tree+"/")
	}
	return pkg == pattern
}

// isStandard reports whether an import path is the standard library's: only those have
// no dot in their first element.
func isStandard(imp string) bool {
	first, _, _ := strings.Cut(imp, "/")
	return !strings.Contains(first, ".")
}

func moduleImports(pkgs []string) string {
	if len(pkgs) == 0 {
		return "no package of this module"
	}
	return "only " + strings.Join(pkgs, ", ") + " of this module"
}

type listedPackage struct {
	ImportPath string
	Imports    []string
}

// modulePackages asks go list for every package of the module and its non-test imports.
func modulePackages(t *testing.T) []listedPackage {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", modulePath+"/...")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []listedPackage
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}
