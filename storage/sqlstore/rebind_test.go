package sqlstore

import "testing"

func TestRebindDollar(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT a FROM t WHERE x = ? AND y = ?", "SELECT a FROM t WHERE x = $1 AND y = $2"},
		{"INSERT INTO t (a, b, c) VALUES (?, ?, ?)", "INSERT INTO t (a, b, c) VALUES ($1, $2, $3)"},
		{"SELECT '?' , \"a?\" FROM t WHERE x = ?", "SELECT '?' , \"a?\" FROM t WHERE x = $1"},
		{"SELECT 'it''s ?' WHERE a=?", "SELECT 'it''s ?' WHERE a=$1"},
		{"?,?,?,?,?,?,?,?,?,?,?", "$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11"},
	} {
		if got := RebindDollar(c.in); got != c.want {
			t.Errorf("RebindDollar(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := QuestionMark(c.in); got != c.in {
			t.Errorf("QuestionMark(%q) = %q, want it unchanged", c.in, got)
		}
	}
}
