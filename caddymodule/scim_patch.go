package caddymodule

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// SCIM PATCH (RFC 7644 section 3.5.2) as Okta and Microsoft Entra send it: operations
// named in any case ("replace", "Replace"), with a path ("active") or a value object
// naming attributes ({"active": false}), booleans as JSON or as strings ("False"), and
// members added, replaced or removed by value or by a path filter
// (members[value eq "..."]). Attributes Keygate does not keep are ignored, so that a
// provider's mapping of, say, a title does not fail the whole change.

// scimPatchBody is a PatchOp request.
type scimPatchBody struct {
	Operations []scimPatchOp `json:"Operations"`
}

// scimPatchOp is one operation.
type scimPatchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// readPatch reads a PatchOp body, its operation names lower-cased and checked.
func readPatch(body scimPatchBody) ([]scimPatchOp, error) {
	if len(body.Operations) == 0 {
		return nil, scimBad("invalidSyntax", "a PATCH needs Operations")
	}
	ops := slices.Clone(body.Operations)
	for i := range ops {
		ops[i].Op = strings.ToLower(ops[i].Op)
		if ops[i].Op != "add" && ops[i].Op != "replace" && ops[i].Op != "remove" {
			return nil, scimBad("invalidSyntax", "op must be add, replace or remove, not %q", body.Operations[i].Op)
		}
		ops[i].Path = strings.TrimSpace(ops[i].Path)
	}
	return ops, nil
}

// attrPath is a path lower-cased, without the core schema's URN (Entra may send
// urn:ietf:params:scim:schemas:core:2.0:User:name.givenName).
func attrPath(p, schema string) string {
	p = strings.ToLower(p)
	return strings.TrimPrefix(p, strings.ToLower(schema)+":")
}

// userPatch is what a PATCH changes of a user.
type userPatch struct {
	u          storage.User
	names      bool
	active     *bool
	externalID *string
}

// patchUser applies ops to u and returns the edit that does the same.
func patchUser(u storage.User, ops []scimPatchOp) (manage.UserRequest, error) {
	p := userPatch{u: u}
	for _, op := range ops {
		if err := p.apply(op); err != nil {
			return manage.UserRequest{}, err
		}
	}
	r := manage.UserRequest{Active: p.active, ExternalID: p.externalID}
	if p.names {
		r.FirstName, r.LastName, r.ExactNames = p.u.FirstName, p.u.LastName, true
	}
	return r, nil
}

func (p *userPatch) apply(op scimPatchOp) error {
	if op.Op == "remove" {
		return p.set(attrPath(op.Path, scimUserSchema), nil)
	}
	if op.Path != "" {
		return p.set(attrPath(op.Path, scimUserSchema), op.Value)
	}
	var attrs map[string]json.RawMessage
	if err := json.Unmarshal(op.Value, &attrs); err != nil {
		return scimBad("invalidValue", "an operation without a path takes an object of attributes")
	}
	for _, name := range sortedKeys(attrs) {
		if err := p.set(attrPath(name, scimUserSchema), attrs[name]); err != nil {
			return err
		}
	}
	return nil
}

// set sets the attribute at path to raw; nil raw removes it.
func (p *userPatch) set(path string, raw json.RawMessage) error {
	switch path {
	case "active":
		var v any
		_ = json.Unmarshal(raw, &v)
		b, ok := asBoolean(v)
		if !ok {
			return scimBad("invalidValue", "active must be true or false")
		}
		p.active = &b
	case "externalid":
		s, err := patchString(path, raw)
		p.externalID = &s
		return err
	case "name":
		var n scimName
		if raw != nil && json.Unmarshal(raw, &n) != nil {
			return scimBad("invalidValue", "name must be an object")
		}
		p.u.FirstName, p.u.LastName, p.names = n.GivenName, n.FamilyName, true
	case "name.givenname":
		s, err := patchString(path, raw)
		p.u.FirstName, p.names = s, true
		return err
	case "name.familyname":
		s, err := patchString(path, raw)
		p.u.LastName, p.names = s, true
		return err
	case "username":
		s, err := patchString(path, raw)
		if err == nil && !strings.EqualFold(s, p.u.Email) {
			return scimBad("mutability", "userName is the user's email, which cannot change")
		}
		return err
	}
	return nil // not kept by Keygate
}

// patchString reads a string value; nil (a remove) is "".
func patchString(path string, raw json.RawMessage) (string, error) {
	var s string
	if raw != nil && json.Unmarshal(raw, &s) != nil {
		return "", scimBad("invalidValue", "%s must be a string", path)
	}
	return s, nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// patchTeam applies ops to t and returns what replaces it.
func patchTeam(t storage.Team, ops []scimPatchOp) (manage.TeamRequest, error) {
	r := manage.TeamRequest{Name: t.Name, Users: slices.Clone(t.Users), Roles: t.Roles}
	for _, op := range ops {
		if err := applyTeamOp(&r, op); err != nil {
			return r, err
		}
	}
	return r, nil
}

func applyTeamOp(r *manage.TeamRequest, op scimPatchOp) error {
	path := attrPath(op.Path, scimGroupSchema)
	if op.Path == "" {
		if op.Op == "remove" {
			return scimBad("noTarget", "remove needs a path")
		}
		var attrs map[string]json.RawMessage
		if err := json.Unmarshal(op.Value, &attrs); err != nil {
			return scimBad("invalidValue", "an operation without a path takes an object of attributes")
		}
		for _, name := range sortedKeys(attrs) {
			if err := setTeamAttr(r, op.Op, attrPath(name, scimGroupSchema), attrs[name]); err != nil {
				return err
			}
		}
		return nil
	}
	if uid, ok := memberFilter(path, op.Path); ok {
		if op.Op != "remove" {
			return scimBad("invalidPath", "a member filter can only be removed")
		}
		r.Users = slices.DeleteFunc(r.Users, func(u string) bool { return u == uid })
		return nil
	}
	return setTeamAttr(r, op.Op, path, op.Value)
}

// memberFilter reads a path members[value eq "uid"].
func memberFilter(lower, path string) (string, bool) {
	if !strings.HasPrefix(lower, "members[") || !strings.HasSuffix(lower, "]") {
		return "", false
	}
	inner := path[len("members[") : len(path)-1]
	f, err := parseSCIMFilter(inner, "value")
	if err != nil || f == nil {
		return "", false
	}
	return f.value, true
}

// setTeamAttr applies op to the group attribute path with value raw.
func setTeamAttr(r *manage.TeamRequest, op, path string, raw json.RawMessage) error {
	switch path {
	case "displayname":
		if op == "remove" {
			return scimBad("mutability", "displayName is required")
		}
		s, err := patchString(path, raw)
		r.Name = s
		return err
	case "externalid":
		s, err := patchString(path, raw)
		r.ExternalID = &s
		return err
	case "members":
		return setMembers(r, op, raw)
	}
	return nil // id, schemas, meta, or what Keygate does not keep
}

// setMembers adds, replaces or removes members; a remove without a value removes all.
func setMembers(r *manage.TeamRequest, op string, raw json.RawMessage) error {
	var members []scimMultiValue
	if raw != nil && json.Unmarshal(raw, &members) != nil {
		return scimBad("invalidValue", "members must be a list of {\"value\": user id}")
	}
	uids := userMembers(members)
	switch {
	case op == "add":
		r.Users = storage.SortedSet(append(r.Users, uids...))
	case op == "replace":
		r.Users = storage.SortedSet(uids)
	case raw == nil:
		r.Users = nil
	default:
		r.Users = slices.DeleteFunc(r.Users, func(u string) bool { return slices.Contains(uids, u) })
	}
	return nil
}
