package authcore

import (
	"testing"
	"time"
)

func TestParseExpiry(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"7d":                   now.AddDate(0, 0, 7),
		"30d":                  now.AddDate(0, 0, 30),
		"60d":                  now.AddDate(0, 0, 60),
		"90d":                  now.AddDate(0, 0, 90),
		"2030-06-01":           time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC),
		"2030-06-01T10:00:00Z": time.Date(2030, 6, 1, 10, 0, 0, 0, time.UTC),
	} {
		got, err := ParseExpiry(in, now, DefaultMaxKeyLifetime)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseExpiry(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "13d", "tomorrow", "2029-12-31", "2030-01-01", "2031-06-01"} {
		if _, err := ParseExpiry(bad, now, DefaultMaxKeyLifetime); err == nil {
			t.Errorf("ParseExpiry(%q) accepted", bad)
		} else if AsError(err).Status != 400 {
			t.Errorf("ParseExpiry(%q): %v is not a 400", bad, err)
		}
	}
}
