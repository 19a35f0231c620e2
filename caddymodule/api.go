package caddymodule

import (
	"net/http"
	"strconv"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// listParams reads ?limit= and ?continue=.
func listParams(r *http.Request) (int, string, error) {
	q := r.URL.Query()
	limit := 0
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		// 0 means the default, as Palette's SDK sends it (GetUsers asks for limit=0).
		if err != nil || n < 0 || n > manage.MaxPageSize {
			return 0, "", &authcore.Error{Status: http.StatusBadRequest, Code: "BadRequest", Message: "limit must be a number from 0 (the default) to " + strconv.Itoa(manage.MaxPageSize)}
		}
		limit = n
	}
	return limit, q.Get("continue"), nil
}

// serveList answers a paginated listing: it reads ?limit= and ?continue=, fetches a
// page and writes it in the wire shape, each item converted by toJSON.
func serveList[T, J any](w http.ResponseWriter, r *http.Request, fetch func(limit int, cursor string) ([]T, string, error), toJSON func(T) J) error {
	limit, cursor, err := listParams(r)
	if err != nil {
		return err
	}
	found, next, err := fetch(limit, cursor)
	if err != nil {
		return err
	}
	items := make([]J, 0, len(found))
	for _, v := range found {
		items = append(items, toJSON(v))
	}
	if limit == 0 {
		limit = manage.MaxPageSize
	}
	return writeJSON(w, http.StatusOK, list[J]{Items: items, ListMeta: listMeta{Continue: next, Count: len(items), Limit: limit}})
}

func (h *Handler) createKey(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body apiKeyBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	k, err := h.service.CreateKey(r.Context(), a, body.request())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, createdKey{APIKey: k.Key, UID: k.Record.UID})
}

// rollKey replaces a key with a new one, answered once like a create; an empty body
// asks for the default overlap.
func (h *Handler) rollKey(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body rollBody
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &body); err != nil {
			return err
		}
	}
	k, err := h.service.RollKey(r.Context(), a, r.PathValue("uid"), body.Overlap)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, createdKey{APIKey: k.Key, UID: k.Record.UID})
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	now := clockNow()
	return serveList(w, r, func(limit int, cursor string) ([]manage.KeyView, string, error) {
		return h.service.ListKeys(r.Context(), a, r.URL.Query().Get("userUid"), limit, cursor)
	}, func(v manage.KeyView) apiKeyJSON { return keyJSON(v, now) })
}

func (h *Handler) getKey(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	v, err := h.service.GetKey(r.Context(), a, r.PathValue("uid"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, keyJSON(v, clockNow()))
}

func (h *Handler) updateKey(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body apiKeyBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	return noContentUnless(w, h.service.UpdateKey(r.Context(), a, r.PathValue("uid"), body.request()))
}

func (h *Handler) setKeyState(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body stateBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	return noContentUnless(w, h.service.SetKeyActive(r.Context(), a, r.PathValue("uid"), body.IsActive))
}

func (h *Handler) deleteKey(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	return noContentUnless(w, h.service.DeleteKey(r.Context(), a, r.PathValue("uid")))
}

func (h *Handler) listAudit(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	return serveList(w, r, func(limit int, cursor string) ([]storage.AuditEvent, string, error) {
		return h.service.ListAudit(r.Context(), a, limit, cursor)
	}, auditToJSON)
}
