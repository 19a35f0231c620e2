package caddymodule

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/keygate/keygate/authcore"
)

// This file holds what every SCIM 2.0 route (RFC 7644) shares: authentication by the
// tenant's SCIM token, SCIM's media type and its error shape.

// SCIM's schema URNs (RFC 7643, RFC 7644).
const (
	scimUserSchema     = "urn:ietf:params:scim:schemas:core:2.0:User"
	scimGroupSchema    = "urn:ietf:params:scim:schemas:core:2.0:Group"
	scimListSchema     = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	scimPatchSchema    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	scimErrorSchema    = "urn:ietf:params:scim:api:messages:2.0:Error"
	scimMediaType      = "application/scim+json"
	scimSPConfigSchema = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	scimResTypeSchema  = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	scimSchemaSchema   = "urn:ietf:params:scim:schemas:core:2.0:Schema"
)

// serveSCIM serves a SCIM route: the caller is the identity provider whose tenant's SCIM
// token the request bears. A refused token counts towards blocking the client, like any
// other failed credential; errors are answered in SCIM's shape.
func (h *Handler) serveSCIM(w http.ResponseWriter, r *http.Request, rt *route) error {
	a, err := h.scimActor(r)
	if err == nil {
		err = rt.serve(h, w, r, a)
	}
	if err != nil {
		h.rejectSCIM(w, r, err)
	}
	return nil
}

// scimActor authenticates the request's Authorization: Bearer <SCIM token>.
func (h *Handler) scimActor(r *http.Request) (authcore.Actor, error) {
	ip := clientIP(r)
	if err := h.issuer.CheckClient(ip); err != nil {
		return authcore.Actor{}, err
	}
	token, _ := takeToken(r, true)
	if token == "" {
		return authcore.Actor{}, authcore.ErrCredentialMissing
	}
	a, err := h.service.SCIMActor(r.Context(), token, ip)
	if err != nil {
		h.issuer.ClientRejected(ip, err)
	}
	return a, err
}

// scimError is an error answered with a SCIM scimType (RFC 7644 section 3.12).
type scimError struct {
	status   int
	scimType string
	detail   string
}

func (e *scimError) Error() string { return e.scimType + ": " + e.detail }

// scimBad is a 400 of SCIM's scimType.
func scimBad(scimType, detail string, args ...any) error {
	if len(args) > 0 {
		detail = fmt.Sprintf(detail, args...)
	}
	return &scimError{status: http.StatusBadRequest, scimType: scimType, detail: detail}
}

// scimErrorBody is RFC 7644's error response.
type scimErrorBody struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail,omitempty"`
}

// rejectSCIM answers err in SCIM's shape. Keygate's errors keep their status and message;
// 409 is SCIM's uniqueness, and a 400 without a finer type is invalidValue.
func (h *Handler) rejectSCIM(w http.ResponseWriter, r *http.Request, err error) {
	body := scimErrorBody{Schemas: []string{scimErrorSchema}}
	var se *scimError
	status := 0
	if errors.As(err, &se) {
		status, body.ScimType, body.Detail = se.status, se.scimType, se.detail
	} else {
		e := authcore.AsError(err)
		h.logRefusal(w, r, e)
		status, body.Detail = e.Status, e.Message
		switch status {
		case http.StatusConflict:
			body.ScimType = "uniqueness"
		case http.StatusBadRequest:
			body.ScimType = "invalidValue"
		}
	}
	body.Status = strconv.Itoa(status)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="keygate-scim"`)
	}
	closeAfterRefusal(w, r)
	if c := h.logger.Check(zap.DebugLevel, "scim request refused"); c != nil {
		c.Write(zap.Int("status", status), zap.String("scim_type", body.ScimType))
	}
	_ = writeSCIM(w, status, body)
}

// writeSCIM answers with v as SCIM JSON, never cached.
func writeSCIM(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", scimMediaType)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// decodeSCIM reads a bounded SCIM body (application/scim+json, or application/json as
// some clients send) into v.
func decodeSCIM(r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != scimMediaType && mt != "application/json" {
		return scimBad("invalidSyntax", "the request body must be sent with Content-Type: application/scim+json")
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes)).Decode(v); err != nil {
		return scimBad("invalidSyntax", "the request body is not the JSON this endpoint takes")
	}
	return nil
}

// scimBase is the absolute URL of the SCIM prefix as the client reached it, for
// resources' meta.location.
func (h *Handler) scimBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + strings.TrimSuffix(h.prefixes[underSCIM], "/")
}
