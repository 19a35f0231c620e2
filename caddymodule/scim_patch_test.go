package caddymodule

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/keygate/keygate/storage"
)

// The filter and PATCH forms identity providers send are read; other forms are refused.
func TestSCIMFilterAndPatchShapes(t *testing.T) {
	f, err := parseSCIMFilter(`userName Eq "Ada@x.test"`, "username")
	if err != nil || f.attr != "username" || f.value != "Ada@x.test" {
		t.Errorf("filter: %+v %v", f, err)
	}
	for _, bad := range []string{`userName co "a"`, `title eq "a"`, `userName eq a`, `userName eq "a" and active eq true`} {
		if _, err := parseSCIMFilter(bad, "username"); err == nil {
			t.Errorf("filter %q was accepted", bad)
		}
	}

	u := storage.User{Email: "ada@x.test", FirstName: "Ada", LastName: "L"}
	for _, body := range []string{`{"op":"Replace","path":"active","value":"False"}`, `{"op":"replace","value":{"active":false}}`} {
		ops, err := readPatch(scimPatchBody{Operations: []scimPatchOp{mustOp(t, body)}})
		if err != nil {
			t.Fatal(err)
		}
		r, err := patchUser(u, ops)
		if err != nil || r.Active == nil || *r.Active || r.ExactNames {
			t.Errorf("%s: %+v %v, want only active false", body, r, err)
		}
	}

	team := storage.Team{Name: "eng", Users: []string{"a", "b"}, Roles: []string{"r"}}
	ops, _ := readPatch(scimPatchBody{Operations: []scimPatchOp{
		mustOp(t, `{"op":"add","path":"members","value":[{"value":"c"}]}`),
		mustOp(t, `{"op":"remove","path":"members[value eq \"a\"]"}`),
		mustOp(t, `{"op":"Remove","path":"members","value":[{"value":"b"}]}`),
		mustOp(t, `{"op":"replace","value":{"id":"x","displayName":"platform"}}`),
	}})
	r, err := patchTeam(team, ops)
	if err != nil || r.Name != "platform" || !slices.Equal(r.Users, []string{"c"}) || !slices.Equal(r.Roles, []string{"r"}) {
		t.Errorf("team patch: %+v %v", r, err)
	}
}

func mustOp(t *testing.T, body string) scimPatchOp {
	t.Helper()
	var op scimPatchOp
	if err := jsonUnmarshal(body, &op); err != nil {
		t.Fatal(err)
	}
	return op
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
