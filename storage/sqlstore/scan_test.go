package sqlstore

import "testing"

func TestStatementBuilders(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{selectFrom("t", []string{"a", "b"}), "SELECT a, b FROM t"},
		{insertInto("t", []string{"a", "b", "c"}), "INSERT INTO t (a, b, c) VALUES (?, ?, ?)"},
		{insertInto("t", []string{"a"}), "INSERT INTO t (a) VALUES (?)"},
		{insertTenantStmt, "INSERT INTO tenants (uid, name, created_at) VALUES (?, ?, ?)"},
		{insertProjectStmt, "INSERT INTO projects (uid, tenant_uid, name, created_at, annotations) VALUES (?, ?, ?, ?, ?)"},
	} {
		if c.got != c.want {
			t.Errorf("statement = %q, want %q", c.got, c.want)
		}
	}
}
