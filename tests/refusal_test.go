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
	for _, c := range []struct {
		name string
		send func(t *testing.T) int
	}{
		{"HTTP/1.1 Expect: 100-continue", func(t *testing.T) int {
			status, _ := g.sendRaw(t, "POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nApiKey: kg_made-up\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
			return status
		}},
		{"HTTP/1.1 body never sent", func(t *testing.T) int {
			status, _ := g.sendRaw(t, "POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nApiKey: kg_made-up\r\nContent-Length: 5\r\n\r\n")
			return status
		}},
		{"HTTP/1.1 chunked body never ended", func(t *testing.T) int {
			status, _ := g.sendRaw(t, "POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
			return status
		}},
		{"h2c Expect: 100-continue", func(t *testing.T) int { return g.h2cNeverEndingBody(t, "100-continue") }},
		{"h2c body never ended", func(t *testing.T) int { return g.h2cNeverEndingBody(t, "") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			if status := c.send(t); status != http.StatusUnauthorized {
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
