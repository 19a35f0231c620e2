package sqlstore

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/keygate/keygate/storage"
)

// ErrBadCursor: a Page.After that no listing returned (malformed, truncated, tampered
// with). It is storage.ErrBadCursor itself, not a wrapper, so errors.Is matches either
// name; it wraps nothing, in particular not storage.ErrNotFound. Callers map it to a
// client error (HTTP 400).
var ErrBadCursor = storage.ErrBadCursor

// DefaultPageLimit is the page size used when Page.Limit is zero or negative. The store
// applies no maximum: callers cap what clients may ask for.
const DefaultPageLimit = 50

// pageLimit is the number of items a page may hold.
func pageLimit(p storage.Page) int {
	if p.Limit <= 0 {
		return DefaultPageLimit
	}
	return p.Limit
}

// position is where a page ends in a listing's order: the sort time (Unix ms, as stored)
// and the uid or id that breaks ties.
type position struct {
	millis int64
	id     string
}

// encodeCursor makes the opaque cursor of a position: base64url (unpadded) of
// "millis:id". Nothing in it is secret, but callers must not rely on its form.
func encodeCursor(pos position) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(pos.millis, 10) + ":" + pos.id))
}

// decodeCursor is the inverse of encodeCursor; anything it did not make is ErrBadCursor.
// The cursor's content never appears in the error.
func decodeCursor(cursor string) (position, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return position{}, ErrBadCursor
	}
	ms, id, ok := strings.Cut(string(raw), ":")
	if !ok {
		return position{}, ErrBadCursor
	}
	v, err := strconv.ParseInt(ms, 10, 64)
	// FormatInt never writes a sign for non-negative numbers nor leading zeros; refusing
	// other spellings keeps exactly one cursor per position.
	if err != nil || strconv.FormatInt(v, 10) != ms {
		return position{}, ErrBadCursor
	}
	return position{millis: v, id: id}, nil
}

// keyset describes how one listing pages: the columns of its order (a time and a unique
// id, constants, never user input) and its direction.
type keyset struct {
	timeCol, idCol string
	desc           bool
}

var (
	byCreated = keyset{timeCol: "created_at", idCol: "uid"}    // oldest first
	byAtDesc  = keyset{timeCol: "at", idCol: "id", desc: true} // newest first
)

// listPage runs one page of a keyset-paginated listing. base is a SELECT with a WHERE
// clause (args are its arguments); listPage adds the cursor condition, the order and a
// limit one above the page size, so that it knows whether another page follows without
// a second query. scan reads one row; pos gives an item's position in the order.
//
// Keyset pagination is stable while items are added: a page starts strictly after the
// previous page's last position, so no item is seen twice, and an item added later (with
// a later time) sorts after everything already listed.
func listPage[T any](ctx context.Context, s *Store, what, base string, args []any, ks keyset,
	p storage.Page, scan func(scanner) (T, error), pos func(T) position,
) ([]T, string, error) {
	limit := pageLimit(p)
	q := base
	if p.After != "" {
		pos, err := decodeCursor(p.After)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", what, err)
		}
		// (time, id) > (t, i) written so that an index on (..., time, id) serves it on
		// every database: a range on time, then a filter for the tie.
		cmp, cmpEq := ">", ">="
		if ks.desc {
			cmp, cmpEq = "<", "<="
		}
		q += fmt.Sprintf(" AND %s %s ? AND (%s %s ? OR %s %s ?)",
			ks.timeCol, cmpEq, ks.timeCol, cmp, ks.idCol, cmp)
		args = append(args, pos.millis, pos.millis, pos.id)
	}
	dir := ""
	if ks.desc {
		dir = " DESC"
	}
	q += fmt.Sprintf(" ORDER BY %s%s, %s%s LIMIT ?", ks.timeCol, dir, ks.idCol, dir)
	fetch := int64(limit)
	if fetch < math.MaxInt64 {
		fetch++
	}
	args = append(args, fetch)

	rows, err := s.query(ctx, s.reader(), q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	items, err := collect(rows, scan)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	if len(items) > limit {
		// The row after a full page: another page follows, from the last item kept.
		items = items[:limit]
		return items, encodeCursor(pos(items[limit-1])), nil
	}
	if items == nil {
		items = []T{} // an empty page is an empty slice, never nil
	}
	return items, "", nil
}
