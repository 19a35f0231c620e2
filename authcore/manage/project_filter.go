package manage

import (
	"context"
	"slices"
	"strings"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// ProjectSort is one of Palette's v1ProjectFilterSortSpec: a field (name,
// creationTimestamp, lastModifiedTimestamp) and an order (asc, the default, or desc).
type ProjectSort struct {
	Field, Order string
}

// ProjectQuery is a filtered, sorted, offset page of the projects an actor may see.
type ProjectQuery struct {
	Name   *StringFilter // nil: every name
	Sort   []ProjectSort
	Offset int
	Limit  int // 0: the most
}

// FilterProjects answers q: the page of matching projects and how many match in all.
// Projects have no modification time of their own, so lastModifiedTimestamp sorts as
// creationTimestamp.
func (s *Service) FilterProjects(ctx context.Context, a authcore.Actor, q ProjectQuery) ([]storage.Project, int, error) {
	pg, err := page(q.Limit, "")
	if err != nil {
		return nil, 0, err
	}
	if q.Offset < 0 {
		return nil, 0, authcore.BadRequest("offset must not be negative")
	}
	compare, err := projectOrder(q.Sort)
	if err != nil {
		return nil, 0, err
	}
	all, err := s.MyProjects(ctx, a)
	if err != nil {
		return nil, 0, err
	}
	matching := slices.DeleteFunc(all, func(p storage.Project) bool { return !q.Name.Match(p.Name) })
	slices.SortStableFunc(matching, compare)
	start := min(q.Offset, len(matching))
	end := min(start+pg.Limit, len(matching))
	return matching[start:end], len(matching), nil
}

// projectOrder is the comparison sorts asks for, each key breaking the previous one's
// ties; with none, the listing's own order (oldest first) stays.
func projectOrder(sorts []ProjectSort) (func(a, b storage.Project) int, error) {
	keys := make([]func(a, b storage.Project) int, 0, len(sorts))
	for i, s := range sorts {
		var key func(a, b storage.Project) int
		switch s.Field {
		case "name":
			key = func(a, b storage.Project) int { return strings.Compare(a.Name, b.Name) }
		case "creationTimestamp", "lastModifiedTimestamp":
			key = func(a, b storage.Project) int { return a.CreatedAt.Compare(b.CreatedAt) }
		default:
			return nil, authcore.BadRequest("sort[%d].field must be name, creationTimestamp or lastModifiedTimestamp", i)
		}
		switch s.Order {
		case "", "asc":
		case "desc":
			asc := key
			key = func(a, b storage.Project) int { return -asc(a, b) }
		default:
			return nil, authcore.BadRequest("sort[%d].order must be asc or desc", i)
		}
		keys = append(keys, key)
	}
	return func(a, b storage.Project) int {
		for _, k := range keys {
			if c := k(a, b); c != 0 {
				return c
			}
		}
		return 0
	}, nil
}
