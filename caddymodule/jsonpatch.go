package caddymodule

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/keygate/keygate/authcore"
)

// patchBody reads a PATCH body: a JSON Patch array, or else decodes the object into
// legacy (with legacy nil, only a patch is taken). patched reports which it was; when it
// was a patch, ops are its operations.
func patchBody(r *http.Request, legacy any) (ops jsonpatch.Patch, patched bool, err error) {
	var raw json.RawMessage
	if err := decodeJSON(r, &raw); err != nil {
		return nil, false, err
	}
	if trimmed := bytes.TrimLeft(raw, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '[' {
		if legacy == nil {
			return nil, false, authcore.BadRequest("the body must be a JSON Patch: an array of operations such as {\"op\":\"replace\",\"path\":\"/metadata/name\",\"value\":\"ops\"}")
		}
		r.Body = io.NopCloser(bytes.NewReader(raw))
		return nil, false, decodeJSON(r, legacy)
	}
	ops, err = jsonpatch.DecodePatch(raw)
	if err != nil {
		return nil, true, authcore.BadRequest("the JSON Patch is malformed: %v", err)
	}
	return ops, true, nil
}

// applyJSONPatch applies ops to current's JSON and decodes the result into next, so that
// a PATCH can be served by the code of the PUT that takes next's shape.
func applyJSONPatch(ops jsonpatch.Patch, current, next any) error {
	doc, err := json.Marshal(current)
	if err != nil {
		return err
	}
	out, err := ops.Apply(doc)
	if err != nil {
		return authcore.BadRequest("the JSON Patch does not apply: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	if err := dec.Decode(next); err != nil {
		return authcore.BadRequest("the patched document does not fit: %v", err)
	}
	return nil
}
