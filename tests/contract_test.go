package tests

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// The end-to-end suite doubles as the check that the OpenAPI document cannot drift from
// the code: every exchange of every test with one of Keygate's own routes goes through
// contract, which validates it against the document the gateway serves (the repository's
// caddymodule/openapi.json, embedded). The run fails if any exchange breaks the document,
// and a run of the whole package also fails if some documented operation never answered
// with success.
//
// Which exchanges are validated:
//   - those for a documented method and path; HEAD as the GET without its body. Every
//     other request is the upstream's (or the console's).
//   - not those the upstream answered: the echo server marks its answers. A path may be
//     documented and still go upstream, e.g. on a gateway with `endpoints off`.
//   - responses always: whatever a client sends, Keygate's answer must be one the
//     document describes, status and error code included.
//   - requests only when the answer is a success. The refusal and spoofing tests send
//     malformed requests on purpose, and those are refused as documented; but a request
//     that Keygate accepted must be one the document allows, or the document is narrower
//     than the code.
//
// Requests on gateways with moved prefixes are checked only where their paths happen to
// be the defaults: the document in the repository has the default prefixes. The browser
// tests' requests are the browser's, not a Go client's, and are not seen.
var contract = newContractCheck(os.ReadFile("../caddymodule/openapi.json"))

// upstreamMarker is the header the echo upstream sets on its answers.
const upstreamMarker = "X-Test-Upstream"

func TestMain(m *testing.M) {
	// Every client built without a transport of its own uses this one; the others wrap
	// theirs with contract.wrap.
	http.DefaultTransport = contract.wrap(http.DefaultTransport)
	code := m.Run()
	if contract.report(os.Stderr, wholeSuiteRan()) && code == 0 {
		code = 1
	}
	os.Exit(code)
}

// wholeSuiteRan reports whether this run ran every test of the package, so that an
// operation no exchange reached means the suite does not exercise it.
func wholeSuiteRan() bool {
	for _, name := range []string{"test.run", "test.skip", "test.list"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return !testing.Short()
}

// contractCheck validates exchanges against the document and keeps what broke it.
type contractCheck struct {
	doc    *openapi3.T
	router routers.Router
	opts   *openapi3filter.Options
	err    error // loading the document

	mu        sync.Mutex
	elsewhere map[string]bool // hosts whose gateways do not serve the document's paths
	failures  []string
	succeeded map[string]bool // operation ids answered with a 2xx or a documented 3xx
	checked   int
}

// newContractCheck checks exchanges against the document doc, unless reading it failed
// with err.
func newContractCheck(doc []byte, err error) *contractCheck {
	c := &contractCheck{succeeded: map[string]bool{}, elsewhere: map[string]bool{}, err: err}
	c.opts = &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: credentialPresented}
	if c.err != nil {
		return c
	}
	if c.doc, c.err = openapi3.NewLoader().LoadFromData(doc); c.err == nil {
		if c.err = c.doc.Validate(context.Background()); c.err == nil {
			c.router, c.err = gorillamux.NewRouter(c.doc)
		}
	}
	return c
}

// wrap returns next, validating each exchange with Keygate's routes.
func (c *contractCheck) wrap(next http.RoundTripper) http.RoundTripper {
	return &contractTransport{check: c, next: next}
}

type contractTransport struct {
	check *contractCheck
	next  http.RoundTripper
}

// CloseIdleConnections passes on to the wrapped transport, so that http.Client's method
// of that name still works through the check.
func (ct *contractTransport) CloseIdleConnections() {
	if c, ok := ct.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (ct *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := ct.check
	if c.err != nil {
		return ct.next.RoundTrip(req)
	}
	if c.servesElsewhere(req.URL.Host) {
		return ct.next.RoundTrip(req)
	}
	route, params, err := c.router.FindRoute(asDocumented(req))
	if err != nil { // not one of Keygate's routes
		return ct.next.RoundTrip(req)
	}
	// The body as sent, read from a copy so that the request itself is untouched. A body
	// without GetBody (a stream) is not read: then only the response is checked.
	var body []byte
	bodyKnown := req.Body == nil || req.Body == http.NoBody
	if !bodyKnown && req.GetBody != nil {
		if rc, err := req.GetBody(); err == nil {
			body, err = io.ReadAll(rc)
			rc.Close()
			bodyKnown = err == nil
		}
	}
	res, err := ct.next.RoundTrip(req)
	if err != nil || res.Header.Get(upstreamMarker) != "" {
		return res, err
	}
	resBody, err := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(resBody))
	if err != nil {
		return res, nil // the test sees the short body; nothing to validate
	}
	x := exchange{req: req, body: body, bodyKnown: bodyKnown, res: res, resBody: resBody, route: route, params: params}
	c.record(x, c.validate(x))
	return res, nil
}

// servesElsewhere reports whether the gateway at host has its endpoints elsewhere
// than the document's paths, or off.
func (c *contractCheck) servesElsewhere(host string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.elsewhere[host]
}

// skipGateway leaves g's exchanges unchecked for the rest of t when its handler block
// moves the endpoints or turns them off: on such a gateway a default path is the
// upstream's, and a refusal there is the gateway's, not an endpoint's.
func (c *contractCheck) skipGateway(t testing.TB, g *gateway, handlerBlock string) {
	if !strings.Contains(handlerBlock, "auth_prefix") && !strings.Contains(handlerBlock, "api_prefix") && !strings.Contains(handlerBlock, "scim_prefix") && !strings.Contains(handlerBlock, "endpoints off") {
		return
	}
	host := strings.TrimPrefix(g.url, "http://")
	c.mu.Lock()
	c.elsewhere[host] = true
	c.mu.Unlock()
	t.Cleanup(func() { // a later gateway may get the port
		c.mu.Lock()
		delete(c.elsewhere, host)
		c.mu.Unlock()
	})
}

// asDocumented is req as the document has it: HEAD is the GET without its body.
func asDocumented(req *http.Request) *http.Request {
	r := req.Clone(req.Context())
	if r.Method == http.MethodHead {
		r.Method = http.MethodGet
	}
	// Tests send header names in odd cases on purpose; the document's are canonical.
	h := make(http.Header, len(r.Header))
	for k, v := range r.Header {
		h[http.CanonicalHeaderKey(k)] = append(h[http.CanonicalHeaderKey(k)], v...)
	}
	r.Header = h
	return r
}

// exchange is one request to a Keygate route and its answer.
type exchange struct {
	req       *http.Request
	body      []byte
	bodyKnown bool
	res       *http.Response
	resBody   []byte
	route     *routers.Route
	params    map[string]string
}

// validate lists what in x the document does not allow.
func (c *contractCheck) validate(x exchange) []string {
	ctx := context.Background()
	r := asDocumented(x.req)
	r.Body = io.NopCloser(bytes.NewReader(x.body))
	opts := *c.opts
	opts.ExcludeResponseBody = x.req.Method == http.MethodHead
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: x.params, Route: x.route, Options: &opts}
	var problems []string
	if x.res.StatusCode/100 == 2 && x.bodyKnown {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			problems = append(problems, "request: "+describe(err))
		}
	}
	// kin-openapi skips some statuses (304) without looking: check each is documented.
	if x.route.Operation.Responses.Status(x.res.StatusCode) == nil {
		return append(problems, "response: status not documented")
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: x.res.StatusCode, Header: x.res.Header,
		Body: io.NopCloser(bytes.NewReader(x.resBody)), Options: &opts,
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		problems = append(problems, "response: "+describe(err))
	}
	return problems
}

func (c *contractCheck) record(x exchange, problems []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checked++
	if (x.res.StatusCode/100 == 2 || x.res.StatusCode/100 == 3) && len(problems) == 0 { // a documented redirect is a success too
		c.succeeded[x.route.Operation.OperationID] = true
	}
	for _, p := range problems {
		test := "a test"
		if name, ok := x.req.Context().Value(testNameKey{}).(string); ok {
			test = name
		}
		c.failures = append(c.failures, fmt.Sprintf("%s %.100s -> %d (%s): %s\n\tbody: %.200s", x.req.Method, x.req.URL.RequestURI(), x.res.StatusCode, test, p, x.resBody))
	}
}

// result is how many exchanges were checked and what broke the document.
func (c *contractCheck) result() (checked int, failures []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checked, slices.Clone(c.failures)
}

// report writes what broke the document, and the operations no exchange answered with
// success; it reports whether the run must fail for either.
func (c *contractCheck) report(w io.Writer, wholeSuite bool) (fail bool) {
	if c.err != nil {
		fmt.Fprintf(w, "OpenAPI contract: the document does not load: %v\n", c.err)
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(w, "OpenAPI contract: %d exchanges with Keygate's routes checked, %d of %d operations seen succeeding\n", c.checked, len(c.succeeded), len(c.operations()))
	if len(c.failures) > 0 {
		fmt.Fprintf(w, "OpenAPI contract: %d of %d exchanges with Keygate's routes do not match caddymodule/openapi.json:\n", len(c.failures), c.checked)
		for _, f := range c.failures {
			fmt.Fprintln(w, "  "+f)
		}
		fail = true
	}
	var uncovered []string
	for name, op := range c.operations() {
		if !c.succeeded[op.OperationID] {
			uncovered = append(uncovered, name+" ("+op.OperationID+")")
		}
	}
	slices.Sort(uncovered)
	if len(uncovered) > 0 && wholeSuite {
		fmt.Fprintf(w, "OpenAPI contract: the suite never saw a success from these documented operations, so it does not check them:\n  %s\n", strings.Join(uncovered, "\n  "))
		fail = true
	}
	return fail
}

// operations are the document's, by "METHOD path".
func (c *contractCheck) operations() map[string]*openapi3.Operation {
	ops := map[string]*openapi3.Operation{}
	for p, item := range c.doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops[method+" "+p] = op
		}
	}
	return ops
}

// describe is err in one line: kin-openapi's errors carry the whole schema, and those
// of the JSON Schema 2020-12 validator one line per failed keyword.
func describe(err error) string {
	msg := err.Error()
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		msg = se.Reason
		if at := strings.Join(se.JSONPointer(), "/"); at != "" {
			msg = "at /" + at + ": " + msg
		}
	}
	if i := strings.Index(msg, "\nSchema:"); i >= 0 {
		msg = msg[:i]
	}
	msg = jsonschemaPreamble.ReplaceAllString(msg, "")
	return strings.ReplaceAll(strings.TrimSpace(msg), "\n", "; ")
}

var jsonschemaPreamble = regexp.MustCompile(`jsonschema validation failed with '[^']*'\n(- )?`)

// credentialPresented passes a security scheme when the request carries its credential,
// by name in any case as Keygate reads them. Whether the credential is good is Keygate's
// to decide, and the status says what it decided.
func credentialPresented(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	s, r := in.SecurityScheme, in.RequestValidationInput.Request
	switch s.In {
	case "header":
		if r.Header.Get(s.Name) != "" {
			return nil
		}
	case "query":
		for k, v := range r.URL.Query() {
			if strings.EqualFold(k, s.Name) && len(v) > 0 && v[0] != "" {
				return nil
			}
		}
	case "cookie":
		if c, err := r.Cookie(s.Name); err == nil && c.Value != "" {
			return nil
		}
	}
	return fmt.Errorf("no %s %s", s.In, s.Name)
}

// testNameKey is the request context key of the test that sent a request, for reports.
type testNameKey struct{}

// withTest is req carrying t's name, so that a broken exchange names its test.
func withTest(req *http.Request, t testing.TB) *http.Request {
	return req.WithContext(context.WithValue(req.Context(), testNameKey{}, t.Name()))
}
