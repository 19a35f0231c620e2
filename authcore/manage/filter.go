package manage

import "strings"

// StringFilter is Palette's v1FilterString: every condition set must hold. IgnoreCase,
// unset, means true, as Palette's default.
type StringFilter struct {
	Eq, Ne, Contains, BeginsWith *string
	IgnoreCase                   *bool
}

// Match reports whether v meets every condition of f; a nil filter matches everything.
func (f *StringFilter) Match(v string) bool {
	if f == nil {
		return true
	}
	fold := func(s string) string { return s }
	if f.IgnoreCase == nil || *f.IgnoreCase {
		fold = strings.ToLower
	}
	v = fold(v)
	holds := func(want *string, test func(v, w string) bool) bool { return want == nil || test(v, fold(*want)) }
	return holds(f.Eq, func(v, w string) bool { return v == w }) &&
		holds(f.Ne, func(v, w string) bool { return v != w }) &&
		holds(f.Contains, strings.Contains) &&
		holds(f.BeginsWith, strings.HasPrefix)
}
