package sqlstore

import (
	"encoding/base64"
	"errors"
	"math"
	"testing"

	"github.com/keygate/keygate/storage"
)

func TestCursorRoundTrip(t *testing.T) {
	for _, pos := range []position{
		{0, ""},
		{1709294400123, "key-000001"},
		{-5, "uid:with:colons"},
		{math.MaxInt64, "ü/+="},
		{math.MinInt64, "x"},
	} {
		c := encodeCursor(pos)
		got, err := decodeCursor(c)
		if err != nil || got != pos {
			t.Errorf("decodeCursor(encodeCursor(%+v)) = %+v, %v", pos, got, err)
		}
	}
}

func TestDecodeCursorRejects(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString
	for name, c := range map[string]string{
		"not base64":      "!!!",
		"padded":          base64.URLEncoding.EncodeToString([]byte("1:ab")),
		"standard base64": base64.RawStdEncoding.EncodeToString([]byte("1:a??>")),
		"no colon":        b64([]byte("123")),
		"no number":       b64([]byte(":a")),
		"not a number":    b64([]byte("12x:a")),
		"plus sign":       b64([]byte("+12:a")),
		"leading zero":    b64([]byte("012:a")),
		"overflow":        b64([]byte("99999999999999999999:a")),
		"space":           b64([]byte(" 12:a")),
	} {
		if _, err := decodeCursor(c); !errors.Is(err, ErrBadCursor) {
			t.Errorf("decodeCursor(%s %q) = %v, want ErrBadCursor", name, c, err)
		}
	}
}

func TestPageLimit(t *testing.T) {
	for _, c := range []struct{ limit, want int }{
		{0, DefaultPageLimit}, {-1, DefaultPageLimit}, {math.MinInt, DefaultPageLimit},
		{1, 1}, {50, 50}, {10_000, 10_000}, {math.MaxInt, math.MaxInt},
	} {
		if got := pageLimit(storage.Page{Limit: c.limit}); got != c.want {
			t.Errorf("pageLimit(%d) = %d, want %d", c.limit, got, c.want)
		}
	}
}
