package caddymodule

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// scimFilter is the one filter form identity providers send to find a resource before
// they create it (RFC 7644 section 3.4.2.2): an attribute equal to a string, such as
// userName eq "ada@example.com" (Okta, Entra) or displayName eq "Engineering".
type scimFilter struct {
	attr  string // lower-cased
	value string
}

// parseSCIMFilter reads ?filter=; "" is no filter. attrs are the attributes it may name,
// lower-cased. Other filters are 400 invalidFilter: answering them unfiltered would make
// the provider think the resource exists.
func parseSCIMFilter(f string, attrs ...string) (*scimFilter, error) {
	f = strings.TrimSpace(f)
	if f == "" {
		return nil, nil
	}
	attr, rest, _ := strings.Cut(f, " ")
	op, value, _ := strings.Cut(strings.TrimSpace(rest), " ")
	attr = strings.ToLower(attr)
	var s string
	if !strings.EqualFold(op, "eq") || json.Unmarshal([]byte(strings.TrimSpace(value)), &s) != nil || !slices.Contains(attrs, attr) {
		return nil, scimBad("invalidFilter", "only filters of the form %s eq \"value\" are supported", strings.Join(attrs, "|"))
	}
	return &scimFilter{attr: attr, value: s}, nil
}

// scimPaging is a listing's startIndex (1-based) and count (RFC 7644 section 3.4.2.4).
type scimPaging struct {
	start, count int
}

// scimMaxResults is the most resources a listing answers at once.
const scimMaxResults = 100

// parseSCIMPaging reads ?startIndex= and ?count=: a start below 1 is 1, a count above the
// most is the most, none is the most; a count of 0 asks only for totalResults.
func parseSCIMPaging(r *http.Request) (scimPaging, error) {
	p := scimPaging{start: 1, count: scimMaxResults}
	q := r.URL.Query()
	for name, v := range map[string]*int{"startIndex": &p.start, "count": &p.count} {
		if s := q.Get(name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return p, scimBad("invalidValue", "%s must be a number", name)
			}
			*v = n
		}
	}
	p.start = max(p.start, 1)
	p.count = min(max(p.count, 0), scimMaxResults)
	return p, nil
}

// takes reports whether the resource at 0-based position i of the whole listing is on
// the page.
func (p scimPaging) takes(i int) bool { return i >= p.start-1 && i < p.start-1+p.count }

// excludesMembers reports whether ?excludedAttributes= names members (Entra asks so).
func excludesMembers(r *http.Request) bool {
	for _, a := range strings.Split(r.URL.Query().Get("excludedAttributes"), ",") {
		if strings.EqualFold(strings.TrimSpace(a), "members") {
			return true
		}
	}
	return false
}
