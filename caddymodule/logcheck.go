package caddymodule

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"time"
	"unsafe"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// logProbe stands in for a credential in the requests the check encodes. It is no
// secret: the check looks for it in what an access log would write, and never logs it.
const logProbe = "keygate-log-probe-d41f0c7b"

// warnAboutAccessLogs warns, once for each server (site) of this config that runs the
// keygate handler, when its access log would record a credential: the ApiKey header or
// query value, the token of a refresh path, or (with should_log_credentials) the
// Authorization header or cookie. README "Logs never hold a secret" has the filter that
// prevents it.
//
// It does not read the config's JSON (Caddy keeps none of it once provisioned) but asks
// Caddy's own encoders: each log that accepts the server's access log entries encodes a
// request carrying logProbe in every place a credential goes, and whatever place shows
// the probe is unredacted. So any filter Caddy has (delete, replace, regexp, query, hash,
// a plugin's) is judged by what it does.
func (a *App) warnAboutAccessLogs(ctx caddy.Context) {
	httpApp, err := ctx.AppIfConfigured("http")
	if err != nil {
		return // no HTTP app, no access logs
	}
	app, ok := httpApp.(*caddyhttp.App)
	if !ok {
		return
	}
	logs, err := configuredLogs(ctx)
	if err != nil {
		a.logger.Warn("cannot check whether access logs redact credentials with this Caddy version; see README \"Logs never hold a secret\"", zap.Error(err))
		return
	}
	for _, name := range slices.Sorted(maps.Keys(app.Servers)) {
		srv := app.Servers[name]
		handlers := keygateHandlers(srv)
		if srv.Logs == nil || len(handlers) == 0 {
			continue
		}
		unredacted, logNames, err := accessLogLeaks(logs, srv.Logs, handlers)
		if err != nil {
			a.logger.Warn("cannot check whether this site's access log redacts credentials", zap.String("server", name), zap.Error(err))
			continue
		}
		if len(unredacted) > 0 {
			a.logger.Warn("this site's access log records credentials: add the log filter from README \"Logs never hold a secret\" (Caddyfile.example's (redact_credentials))",
				zap.String("server", name), zap.Strings("listen", srv.Listen), zap.Strings("hosts", siteHosts(srv)), zap.Strings("logs", logNames), zap.Strings("unredacted", unredacted))
		}
	}
}

// keygateHandlers finds the keygate handlers of a server, in its routes, subroutes,
// error routes and named routes.
func keygateHandlers(srv *caddyhttp.Server) []*Handler {
	var found []*Handler
	var walk func(caddyhttp.RouteList)
	walk = func(routes caddyhttp.RouteList) {
		for _, r := range routes {
			for _, h := range r.Handlers {
				switch h := h.(type) {
				case *Handler:
					found = append(found, h)
				case *caddyhttp.Subroute:
					walk(h.Routes)
				}
			}
		}
	}
	walk(srv.Routes)
	if srv.Errors != nil {
		walk(srv.Errors.Routes)
	}
	for _, name := range slices.Sorted(maps.Keys(srv.NamedRoutes)) {
		walk(caddyhttp.RouteList{*srv.NamedRoutes[name]})
	}
	return found
}

// siteHosts are the hosts a server's routes match, as a Caddyfile's site addresses
// make them, to name the site beside the server's name.
func siteHosts(srv *caddyhttp.Server) []string {
	var hosts []string
	for _, r := range srv.Routes {
		for _, set := range r.MatcherSets {
			for _, m := range set {
				if h, ok := m.(*caddyhttp.MatchHost); ok {
					hosts = append(hosts, *h...)
				}
			}
		}
	}
	return hosts
}

// credentialProbe is a request with logProbe where a credential goes.
type credentialProbe struct {
	where  string
	uri    string
	header http.Header
}

// credentialProbes are the places Keygate takes credentials from on these handlers.
func credentialProbes(handlers []*Handler) []credentialProbe {
	probes := []credentialProbe{
		{where: "ApiKey header", uri: "/", header: http.Header{apiKeyHeader: {logProbe}}},
		{where: "Authorization header", uri: "/", header: http.Header{"Authorization": {logProbe}}},
		{where: "Authorization cookie", uri: "/", header: http.Header{"Cookie": {"Authorization=" + logProbe}}},
	}
	// The query parameter's name is matched in any case, and percent-decoded.
	for _, q := range []string{"ApiKey", "apikey", "APIKEY", "%61pi%4Bey"} {
		probes = append(probes, credentialProbe{where: "ApiKey query", uri: "/x?a=1&" + q + "=" + logProbe + "&b=2"})
	}
	for _, h := range handlers {
		if h.Endpoints != "off" {
			probes = append(probes, credentialProbe{where: "refresh path token", uri: h.authPrefix + "refresh/" + logProbe})
		}
	}
	return probes
}

// accessLogLeaks returns where a credential shows in the access logs of a server whose
// log settings are slc, and the logs that show it.
func accessLogLeaks(logs map[string]*caddy.CustomLog, slc *caddyhttp.ServerLogConfig, handlers []*Handler) (unredacted, logNames []string, err error) {
	probes := credentialProbes(handlers)
	for _, loggerName := range accessLoggerNames(slc) {
		for _, logName := range slices.Sorted(maps.Keys(logs)) {
			cl := logs[logName]
			if !acceptsAccessLog(logName, cl, loggerName) {
				continue
			}
			enc, err := unexportedField[zapcore.Encoder](&cl.BaseLog, "encoder")
			if err != nil {
				return nil, nil, err
			}
			leaked := false
			for _, p := range probes {
				shows, err := encodes(enc, loggerName, p, slc.ShouldLogCredentials)
				if err != nil {
					return nil, nil, fmt.Errorf("log %q: %w", logName, err)
				}
				if shows && !slices.Contains(unredacted, p.where) {
					unredacted = append(unredacted, p.where)
				}
				leaked = leaked || shows
			}
			if leaked && !slices.Contains(logNames, logName) {
				logNames = append(logNames, logName)
			}
		}
	}
	return unredacted, logNames, nil
}

// accessLoggerNames are the loggers a server writes its access log entries to (the
// log_name directive can add others, per request, which this cannot know).
func accessLoggerNames(slc *caddyhttp.ServerLogConfig) []string {
	var names []string
	add := func(n string) {
		name := "http.log.access"
		if n != "" {
			name += "." + n
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if !slc.SkipUnmappedHosts {
		add(slc.DefaultLoggerName)
	}
	for _, host := range slices.Sorted(maps.Keys(slc.LoggerNames)) {
		for _, n := range slc.LoggerNames[host] {
			add(n)
		}
	}
	return names
}

// acceptsAccessLog reports whether the log would write an entry of loggerName at ERROR
// (Caddy logs a 5xx request at ERROR, others lower): Caddy decides, by the log's
// include and exclude lists, its level and its writer (a discarding one writes nothing).
func acceptsAccessLog(logName string, cl *caddy.CustomLog, loggerName string) bool {
	one := &caddy.Logging{Logs: map[string]*caddy.CustomLog{logName: cl}}
	return one.Logger(namedLogger(loggerName)).Check(zapcore.ErrorLevel, "") != nil
}

// namedLogger is a module by the name of a logger, to ask Caddy for that logger.
type namedLogger string

func (n namedLogger) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: caddy.ModuleID(n)}
}

// encodes reports whether enc, encoding an access log entry for the probe's request,
// writes logProbe.
func encodes(enc zapcore.Encoder, loggerName string, p credentialProbe, logCredentials bool) (bool, error) {
	r, err := http.NewRequest(http.MethodGet, "http://localhost"+p.uri, nil)
	if err != nil {
		return false, err
	}
	r.RequestURI, r.RemoteAddr = p.uri, "192.0.2.1:1234"
	if p.header != nil {
		r.Header = p.header
	}
	entry := zapcore.Entry{Level: zapcore.InfoLevel, Time: time.Now(), LoggerName: loggerName, Message: "handled request"}
	buf, err := enc.Clone().EncodeEntry(entry, []zapcore.Field{
		zap.Object("request", caddyhttp.LoggableHTTPRequest{Request: r, ShouldLogCredentials: logCredentials}),
	})
	if err != nil {
		return false, err
	}
	defer buf.Free()
	return bytes.Contains(buf.Bytes(), []byte(logProbe)), nil
}

// configuredLogs returns the logs of the config ctx belongs to, provisioned. Caddy
// gives a module no access to its config, so this reads caddy.Context's cfg field; the
// tests fail if a Caddy version renames it.
func configuredLogs(ctx caddy.Context) (map[string]*caddy.CustomLog, error) {
	cfg, err := unexportedField[*caddy.Config](&ctx, "cfg")
	if err != nil {
		return nil, err
	}
	if cfg == nil || cfg.Logging == nil {
		return nil, fmt.Errorf("the config has no logging set up")
	}
	return cfg.Logging.Logs, nil
}

// unexportedField reads the unexported field name, of type T, of the struct ptr points to.
func unexportedField[T any](ptr any, name string) (T, error) {
	var zero T
	v := reflect.ValueOf(ptr).Elem()
	f := v.FieldByName(name)
	if !f.IsValid() || f.Type() != reflect.TypeFor[T]() {
		return zero, fmt.Errorf("%s has no field %s of type %s", v.Type(), name, reflect.TypeFor[T]())
	}
	return *(*T)(unsafe.Pointer(f.UnsafeAddr())), nil
}
