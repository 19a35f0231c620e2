package manage

import "testing"

// Palette's v1FilterString, condition by condition: all that are set must hold, and case
// is ignored unless ignoreCase is false.
func TestStringFilterMatchesPalettesConditions(t *testing.T) {
	str := func(s string) *string { return &s }
	no := false
	for _, c := range []struct {
		name string
		f    *StringFilter
		v    string
		want bool
	}{
		{"nil matches all", nil, "x", true},
		{"eq ignores case by default", &StringFilter{Eq: str("DEV@acme.test")}, "dev@acme.test", true},
		{"eq with case", &StringFilter{Eq: str("DEV@acme.test"), IgnoreCase: &no}, "dev@acme.test", false},
		{"ne", &StringFilter{Ne: str("dev@acme.test")}, "dev@acme.test", false},
		{"contains", &StringFilter{Contains: str("ACME")}, "dev@acme.test", true},
		{"beginsWith", &StringFilter{BeginsWith: str("ev")}, "dev@acme.test", false},
		{"all must hold", &StringFilter{BeginsWith: str("d"), Contains: str("zzz")}, "dev@acme.test", false},
	} {
		if got := c.f.Match(c.v); got != c.want {
			t.Errorf("%s: Match(%q) = %v, want %v", c.name, c.v, got, c.want)
		}
	}
}
