package manage

import (
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
)

// Sort keys apply in order, each breaking the previous one's ties; unknown fields and
// orders are refused naming the entry.
func TestProjectOrder(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := storage.Project{Name: "a", CreatedAt: t0.Add(time.Second)}
	b := storage.Project{Name: "b", CreatedAt: t0}
	b2 := storage.Project{Name: "b", CreatedAt: t0.Add(2 * time.Second)}
	cmp, err := projectOrder([]ProjectSort{{Field: "name", Order: "desc"}, {Field: "creationTimestamp"}})
	if err != nil {
		t.Fatal(err)
	}
	if cmp(b, a) >= 0 || cmp(b, b2) >= 0 || cmp(b2, b) <= 0 {
		t.Errorf("name desc, then oldest first: wrong order")
	}
	for _, bad := range [][]ProjectSort{{{Field: "size"}}, {{Field: "name", Order: "up"}}} {
		if _, err := projectOrder(bad); err == nil {
			t.Errorf("projectOrder(%+v) accepted", bad)
		}
	}
}
