package sqlstore

import (
	"slices"
	"testing"
	"testing/fstest"
)

func TestSplitStatements(t *testing.T) {
	body := "-- header comment\n\nCREATE TABLE a (\n    x INTEGER -- inline\n);\r\n" +
		"CREATE INDEX a_x ON a (x);   \n-- only a comment;\n\n" +
		"INSERT INTO a VALUES (1)"
	got := splitStatements(body)
	want := []string{
		"-- header comment\n\nCREATE TABLE a (\n    x INTEGER -- inline\n);",
		"CREATE INDEX a_x ON a (x);",
		"INSERT INTO a VALUES (1)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("splitStatements =\n%q\nwant\n%q", got, want)
	}
	if got := splitStatements("-- nothing\n\n"); len(got) != 0 {
		t.Errorf("splitStatements(comments only) = %q, want none", got)
	}
}

func TestListMigrations(t *testing.T) {
	fsys := fstest.MapFS{
		"0010_later.sql":   {Data: []byte("SELECT 1;")},
		"0002_second.sql":  {Data: []byte("SELECT 1;")},
		"0001_first.sql":   {Data: []byte("SELECT 1;")},
		"README.md":        {Data: []byte("not a migration")},
		"sub/0003_x.sql":   {Data: []byte("not in the root")},
		"0004_skipped.txt": {Data: []byte("not .sql")},
	}
	list, err := listMigrations(fsys)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range list {
		names = append(names, m.name)
	}
	if want := []string{"0001_first.sql", "0002_second.sql", "0010_later.sql"}; !slices.Equal(names, want) {
		t.Errorf("listMigrations = %v, want %v", names, want)
	}

	for name, fsys := range map[string]fstest.MapFS{
		"no number":      {"init.sql": {}},
		"no underscore":  {"0001.sql": {}},
		"zero":           {"0000_zero.sql": {}},
		"same version":   {"0001_a.sql": {}, "1_b.sql": {}},
		"not a number":   {"00x1_a.sql": {}},
		"negative":       {"-001_a.sql": {}},
		"number overrun": {"99999999999999999999_a.sql": {}},
	} {
		if _, err := listMigrations(fsys); err == nil {
			t.Errorf("listMigrations(%s) succeeded, want an error", name)
		}
	}
}
