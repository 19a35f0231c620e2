package caddymodule

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strings"
	"testing"
)

// identityTable and IdentityHeaders, the JSON shape, describe the same headers: each row's
// key is its field's JSON name, and the field's doc comment states the row's default.
func TestIdentityTableMatchesIdentityHeaders(t *testing.T) {
	var cfg IdentityHeaders
	if n := reflect.TypeOf(cfg).NumField(); n != len(identityTable) {
		t.Fatalf("IdentityHeaders has %d fields, identityTable %d rows", n, len(identityTable))
	}
	want := map[string]string{}
	for _, ih := range identityTable {
		*ih.field(&cfg) = "v-" + ih.key
		want[ih.key] = "v-" + ih.key
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("IdentityHeaders as JSON %s, want the table's keys %v", b, want)
	}

	docs := identityFieldDocs(t)
	for _, ih := range identityTable {
		name := reflect.TypeOf(cfg).Field(fieldIndex(t, &cfg, ih)).Name
		if !strings.Contains(docs[name], "Default: "+ih.header+".") {
			t.Errorf("the doc comment of IdentityHeaders.%s does not say Default: %s.", name, ih.header)
		}
	}
}

// fieldIndex is the index of the IdentityHeaders field ih points into.
func fieldIndex(t *testing.T, cfg *IdentityHeaders, ih identityHeader) int {
	p := reflect.ValueOf(ih.field(cfg)).Pointer()
	v := reflect.ValueOf(cfg).Elem()
	for i := range v.NumField() {
		if v.Field(i).Addr().Pointer() == p {
			return i
		}
	}
	t.Fatalf("row %s points outside IdentityHeaders", ih.key)
	return -1
}

// identityFieldDocs reads the doc comments of IdentityHeaders' fields from identity.go.
func identityFieldDocs(t *testing.T) map[string]string {
	f, err := parser.ParseFile(token.NewFileSet(), "identity.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok && ts.Name.Name == "IdentityHeaders" {
			for _, field := range ts.Type.(*ast.StructType).Fields.List {
				docs[field.Names[0].Name] = strings.Join(strings.Fields(field.Doc.Text()), " ")
			}
		}
		return true
	})
	return docs
}
