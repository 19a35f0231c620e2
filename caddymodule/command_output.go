package caddymodule

import (
	"context"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// What the command line prints: for people, an aligned table for a listing and "key:
// value" lines for one record; with --json, the REST API's shapes (api_wire.go), a
// listing as {"items": [...]} holding every item (the command line does not page).

// listResult is a listing: a table with a header row, and its items as JSON.
func listResult[T, J any](items []T, header []string, row func(T) []string, toJSON func(T) J) result {
	rows := [][]string{header}
	js := make([]J, 0, len(items))
	for _, it := range items {
		rows = append(rows, row(it))
		js = append(js, toJSON(it))
	}
	return result{text: aligned(rows, "  "), json: struct {
		Items []J `json:"items"`
	}{js}}
}

// fields are "key: value" lines, the values aligned, from alternating keys and values.
func fields(kv ...string) string {
	rows := make([][]string, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		rows = append(rows, []string{kv[i] + ":", kv[i+1]})
	}
	return aligned(rows, " ")
}

// aligned lays rows out in columns; an empty cell is shown as "-".
func aligned(rows [][]string, gap string) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 8, len(gap), ' ', 0)
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			if c == "" {
				c = "-"
			}
			cells[i] = strings.ReplaceAll(c, "\t", " ")
		}
		w.Write([]byte(strings.Join(cells, "\t") + "\n"))
	}
	w.Flush()
	return strings.TrimRight(b.String(), "\n")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func fullName(first, last string) string { return strings.TrimSpace(first + " " + last) }

// tenantNames maps every tenant's uid to its name, for listings that span tenants.
func tenantNames(ctx context.Context, ad manage.Operator) (map[string]string, error) {
	ts, err := ad.ListTenants(ctx)
	names := make(map[string]string, len(ts))
	for _, t := range ts {
		names[t.UID] = t.Name
	}
	return names, err
}

// tenantJSON is a tenant in the REST API's object shape (the API has no tenant
// endpoint: its callers live in one tenant).
type tenantJSON struct {
	Metadata objectMeta `json:"metadata"`
}

func tenantToJSON(t storage.Tenant) tenantJSON {
	return tenantJSON{Metadata: objectMeta{UID: t.UID, Name: t.Name, CreationTimestamp: timeString(t.CreatedAt)}}
}

// The operator's listings span tenants, so their users and keys carry their tenant's uid
// beside the REST shape.

type cliUser struct {
	userJSON
	TenantUID string `json:"tenantUid"`
}

func cliUserToJSON(u storage.User) cliUser { return cliUser{userToJSON(u), u.TenantUID} }

type cliKey struct {
	apiKeyJSON
	TenantUID string `json:"tenantUid"`
}

func cliKeyToJSON(v manage.KeyView) cliKey { return cliKey{keyJSON(v, time.Now()), v.Key.TenantUID} }
