package tests

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// A refusal must not wait for a body the gateway will never read: not for a client that
// waits for 100 Continue before sending it, nor for one that never sends it.
func TestRefusalDoesNotWaitForTheBody(t *testing.T) {
	g := startGatewayServers(t, "protocols h1 h2c", "", "")
	const refused = "Host: 127.0.0.1\r\nApiKey: kg_made-up\r\n"
	// Without raw, the request goes over h2c with h2cExpect as its Expect header.
	for _, c := range []struct{ name, raw, h2cExpect string }{
		{name: "HTTP1.1 Expect: 100-continue", raw: "POST /x HTTP/1.1\r\n" + refused + "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n"},
		{name: "HTTP1.1 body never sent", raw: "POST /x HTTP/1.1\r\n" + refused + "Content-Length: 5\r\n\r\n"},
		{name: "HTTP1.1 chunked body never ended", raw: "POST /x HTTP/1.1\r\n" + refused + "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"},
		{name: "h2c Expect: 100-continue", h2cExpect: "100-continue"},
		{name: "h2c body never ended"},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			var status int
			if c.raw != "" {
				status, _ = g.sendRaw(t, c.raw)
			} else {
				status = g.h2cNeverEndingBody(t, c.h2cExpect)
			}
			if status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", status)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Fatalf("the refusal took %v: it waited for the body", took)
			}
		})
	}
}

// h2cNeverEndingBody posts a body that never ends and returns the status of the answer.
func (g *gateway) h2cNeverEndingBody(t *testing.T, expect string) int {
	t.Helper()
	body, never := io.Pipe()
	defer never.Close()
	req, err := http.NewRequest(http.MethodPost, g.url+"/x", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("ApiKey", "kg_made-up")
	if expect != "" {
		req.Header.Set("Expect", expect)
	}
	res, err := h2cClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
