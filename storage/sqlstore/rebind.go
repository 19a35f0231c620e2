package sqlstore

import (
	"strconv"
	"strings"
)

// QuestionMark is the Rebind of databases that take ? placeholders, such as SQLite: it
// returns the query unchanged.
func QuestionMark(query string) string { return query }

// RebindDollar numbers the ? placeholders of query as $1..$n, as PostgreSQL wants them.
// A ? inside a quoted string or identifier is left alone.
func RebindDollar(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	var quote byte // the quote we are inside, or 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
