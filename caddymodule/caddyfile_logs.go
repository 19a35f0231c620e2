package caddymodule

import (
	"os"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"go.uber.org/zap"
)

// This file warns, while a Caddyfile is adapted, about a site that uses keygate and
// writes an access log that would hold credentials. Caddy logs each request as it
// arrived, before any handler runs, so only a log filter can keep the ApiKey header, the
// ApiKey query value and the refresh path's token out of it. The adapter is the one
// place that sees the site's log directive: a module at run time has no view of the
// logging configuration. (A config written in JSON is not checked.)

// accessLogFilters are the fields a site's access log filter must cover, with what
// each holds.
var accessLogFilters = []struct{ field, holds string }{
	{"request>headers>apikey", "the ApiKey header"},
	{"request>uri", "the ApiKey query parameter and the token of the refresh path"},
}

// checkedSitesKey names the adapter state that remembers which sites were checked, so
// that a site with several keygate directives is warned about once.
const checkedSitesKey = "keygate.access_log_checked"

// warnIfAccessLogLeaks finds the site block that holds the keygate directive at
// file:line and warns when its access log lacks a filter for a field that carries
// credentials. It reads the block from the Caddyfile again, since a directive's parser
// sees only its own tokens; an unreadable file is not checked.
func warnIfAccessLogLeaks(h httpcaddyfile.Helper, file string, line int) {
	block, ok := siteBlockAt(h.Caddyfiles(), file, line)
	if !ok {
		return
	}
	site := strings.Join(block.GetKeysText(), " ")
	checked, _ := h.State[checkedSitesKey].(map[string]bool)
	if checked == nil {
		checked = map[string]bool{}
		h.State[checkedSitesKey] = checked
	}
	if checked[site] {
		return
	}
	checked[site] = true
	if unfiltered := unfilteredLogFields(block); len(unfiltered) > 0 {
		caddy.Log().Named("keygate").Warn("this site's access log will hold credentials: filter them (see the redact_credentials snippet in Keygate's Caddyfile.example)",
			zap.String("site", site), zap.Strings("unfiltered", unfiltered))
	}
}

// siteBlockAt parses files and returns the server block holding the keygate token at
// file:line.
func siteBlockAt(files []string, file string, line int) (caddyfile.ServerBlock, bool) {
	for _, name := range files {
		body, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		blocks, err := caddyfile.Parse(name, body)
		if err != nil {
			continue
		}
		for _, b := range blocks {
			for _, seg := range b.Segments {
				for _, tok := range seg {
					if tok.Text == "keygate" && tok.File == file && tok.Line == line {
						return b, true
					}
				}
			}
		}
	}
	return caddyfile.ServerBlock{}, false
}

// unfilteredLogFields returns what the block's access logs would hold unfiltered: none
// when the block has no log directive (no access log) or every log filters each field.
func unfilteredLogFields(block caddyfile.ServerBlock) []string {
	var unfiltered []string
	for _, seg := range block.Segments {
		if len(seg) == 0 || seg[0].Text != "log" || isLogOff(seg) {
			continue
		}
		for _, f := range accessLogFilters {
			if !filtersField(seg, f.field) {
				unfiltered = append(unfiltered, f.holds)
			}
		}
	}
	return unfiltered
}

// filtersField reports whether a log directive's filter names field (header names in
// logs are canonical, so any case is taken).
func filtersField(seg caddyfile.Segment, field string) bool {
	inFilter := false
	for _, tok := range seg {
		switch {
		case tok.Text == "filter":
			inFilter = true
		case inFilter && strings.EqualFold(tok.Text, field):
			return true
		}
	}
	return false
}

// isLogOff reports a log directive that writes nothing (`output discard`).
func isLogOff(seg caddyfile.Segment) bool {
	for i := 0; i+1 < len(seg); i++ {
		if seg[i].Text == "output" && seg[i+1].Text == "discard" {
			return true
		}
	}
	return false
}
