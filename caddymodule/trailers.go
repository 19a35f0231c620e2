package caddymodule

import (
	"io"
	"net/http"
	"slices"
)

// guardTrailers keeps forged identity, and unless credentials are forwarded the ApiKey,
// Authorization and token cookie trailers, out of what the request passes on. Deleting
// names from r.Trailer now would not do: Go fills the trailers in only when the body has
// been read to its end, and over HTTP/1.1 it takes undeclared ones too. So the request
// gets a trailer map of its own, with the allowed declared names now and, when the body
// ends, the allowed trailers that arrived.
//
// A request that declares no trailers can carry none over HTTP/2 (Go keeps only declared
// ones there), nor over HTTP/1 unless chunked: it passes without an allocation.
func (h *Handler) guardTrailers(r *http.Request) {
	if r.Trailer == nil && !slices.Contains(r.TransferEncoding, "chunked") {
		return
	}
	g := &trailerGuard{
		ReadCloser:  r.Body,
		received:    r.Trailer,
		passed:      make(http.Header, len(r.Trailer)),
		identity:    h.identity,
		credentials: !h.ForwardCredentials,
	}
	g.publish()
	r.Trailer, r.Body = g.passed, g
}

// trailerGuard is a request body that publishes the received trailers, filtered, once
// the body has been read to its end (which is when Go has filled them in).
type trailerGuard struct {
	io.ReadCloser
	// received is the map Go fills in (over HTTP/1.1 it may write passed instead: it sets
	// trailers on the request it parsed, which may be this one).
	received, passed http.Header
	identity         identityHeaders
	// credentials is whether credential trailers are removed.
	credentials bool
}

func (g *trailerGuard) Read(p []byte) (int, error) {
	n, err := g.ReadCloser.Read(p)
	if err == io.EOF {
		g.publish()
	}
	return n, err
}

// publish copies the allowed received trailers to passed and removes any other.
func (g *trailerGuard) publish() {
	for name, values := range g.received {
		g.passed[name] = values
	}
	for name := range g.passed {
		if g.identity.isForged(name) || g.credentials && isCredentialHeader(name) {
			delete(g.passed, name)
		}
	}
	if g.credentials {
		dropCookie(g.passed, tokenCookie)
	}
}

// isCredentialHeader reports whether name carries a credential Keygate accepts.
func isCredentialHeader(name string) bool {
	return equalFoldASCII(name, apiKeyName) || equalFoldASCII(name, "Authorization")
}
