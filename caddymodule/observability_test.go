package caddymodule

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"gopkg.in/yaml.v3"
)

const (
	dashboardFile = "../deploy/grafana/keygate-dashboard.json"
	alertsFile    = "../deploy/prometheus/keygate-alerts.yml"
)

// exportedFamily is a metric family as Keygate exports it: its type and label names.
type exportedFamily struct {
	typ    dto.MetricType
	labels []string
}

// exportedFamilies registers Keygate's collectors on a fresh registry, as App.Provision
// does on Caddy's, gives each vector one series (a vector without any is not gathered)
// and gathers them: the names, types and labels a scrape shows.
func exportedFamilies(t *testing.T) map[string]exportedFamily {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := keygateMetrics()
	if err := m.register(reg); err != nil {
		t.Fatal(err)
	}
	for _, c := range m.collectors() {
		touch(t, c)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]exportedFamily{}
	for _, mf := range mfs {
		var labels []string
		for _, lp := range mf.GetMetric()[0].GetLabel() {
			labels = append(labels, lp.GetName())
		}
		out[mf.GetName()] = exportedFamily{typ: mf.GetType(), labels: labels}
	}
	if len(out) != len(m.collectors()) {
		t.Fatalf("gathered %d families from %d collectors", len(out), len(m.collectors()))
	}
	return out
}

// touch creates one series of a vector, trying label counts until the vector accepts one.
func touch(t *testing.T, c prometheus.Collector) {
	t.Helper()
	for n := 0; n <= 5; n++ {
		values := slices.Repeat([]string{"x"}, n)
		var err error
		var vec interface{ DeleteLabelValues(...string) bool }
		switch v := c.(type) {
		case *prometheus.CounterVec:
			_, err = v.GetMetricWithLabelValues(values...)
			vec = v
		case *prometheus.GaugeVec:
			_, err = v.GetMetricWithLabelValues(values...)
			vec = v
		case *prometheus.HistogramVec:
			_, err = v.GetMetricWithLabelValues(values...)
			vec = v
		default:
			t.Fatalf("collector %T: teach touch about it", c)
		}
		if err == nil {
			t.Cleanup(func() { vec.DeleteLabelValues(values...) }) // the collectors are the process's
			return
		}
	}
	t.Fatalf("collector %T takes no label count up to 5", c)
}

// promQL finds metric selectors and grouping clauses in PromQL.
var (
	metricRef  = regexp.MustCompile(`\b(keygate_[a-z_]+)(\{[^}]*\})?`)
	matcherRef = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"`)
	groupRef   = regexp.MustCompile(`\b(?:by|without|ignoring|on)\s*\(([^)]*)\)`)
)

// targetLabels are added by Prometheus to every scraped series.
var targetLabels = []string{"instance", "job"}

// checkPromQL reports what in expr Keygate does not export: a metric, a histogram
// suffix on a metric that is not a histogram, or a label the metric has not.
func checkPromQL(expr string, exported map[string]exportedFamily) []error {
	var errs []error
	refs := metricRef.FindAllStringSubmatch(expr, -1)
	if len(refs) == 0 {
		errs = append(errs, fmt.Errorf("uses no Keygate metric"))
	}
	known := slices.Clone(targetLabels)
	for _, ref := range refs {
		name, fam, extra := ref[1], exportedFamily{}, []string(nil)
		f, ok := exported[name]
		if ok {
			fam = f
		} else {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				base, cut := strings.CutSuffix(name, suffix)
				if f, ok = exported[base]; cut && ok {
					if f.typ != dto.MetricType_HISTOGRAM {
						errs = append(errs, fmt.Errorf("%s: %s is not a histogram", name, base))
					}
					fam = f
					if suffix == "_bucket" {
						extra = []string{"le"}
					}
					break
				}
			}
		}
		if !ok {
			errs = append(errs, fmt.Errorf("%s is not a metric Keygate exports", name))
			continue
		}
		labels := slices.Concat(fam.labels, extra, targetLabels)
		known = append(known, labels...)
		for _, mm := range matcherRef.FindAllStringSubmatch(ref[2], -1) {
			if !slices.Contains(labels, mm[1]) {
				errs = append(errs, fmt.Errorf("%s has no label %q", name, mm[1]))
			}
		}
	}
	for _, g := range groupRef.FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(g[1], ",") {
			if l = strings.TrimSpace(l); l != "" && !slices.Contains(known, l) {
				errs = append(errs, fmt.Errorf("groups by %q, which none of its metrics has", l))
			}
		}
	}
	return errs
}

// The Grafana dashboard is valid JSON with the structure Grafana imports, and every
// query in it names metrics and labels that Keygate exports.
func TestObservabilityDashboardUsesExportedMetrics(t *testing.T) {
	exported := exportedFamilies(t)
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	}
	var dash struct {
		Title      string `json:"title"`
		UID        string `json:"uid"`
		Templating struct {
			List []struct {
				Name string `json:"name"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID         int    `json:"id"`
			Type       string `json:"type"`
			Title      string `json:"title"`
			Datasource *struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			GridPos *struct{ H, W, X, Y int } `json:"gridPos"`
			Targets []target                  `json:"targets"`
		} `json:"panels"`
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if dash.Title == "" || dash.UID == "" || len(dash.Panels) == 0 {
		t.Fatalf("%s: needs a title, a uid and panels", dashboardFile)
	}
	vars := map[string]bool{}
	for _, v := range dash.Templating.List {
		vars[v.Name] = true
	}
	ids, used := map[int]bool{}, map[string]bool{}
	for _, p := range dash.Panels {
		where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if p.ID == 0 || ids[p.ID] {
			t.Errorf("%s: ids must be set and unique", where)
		}
		ids[p.ID] = true
		if p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("%s: needs a gridPos within 24 columns", where)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || !vars[strings.Trim(p.Datasource.UID, "${}")] {
			t.Errorf("%s: its datasource must be a dashboard variable", where)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: has no queries", where)
		}
		for _, tg := range p.Targets {
			for _, err := range checkPromQL(tg.Expr, exported) {
				t.Errorf("%s, query %s: %v", where, tg.RefID, err)
			}
			for _, ref := range metricRef.FindAllStringSubmatch(tg.Expr, -1) {
				used[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(ref[1], "_bucket"), "_count"), "_sum")] = true
			}
			for _, v := range regexp.MustCompile(`\$(\w+)`).FindAllStringSubmatch(tg.Expr, -1) {
				if !vars[v[1]] && !strings.HasPrefix(v[1], "__") {
					t.Errorf("%s, query %s: uses $%s, which the dashboard does not define", where, tg.RefID, v[1])
				}
			}
		}
	}
	for name := range exported {
		if !used[name] {
			t.Errorf("the dashboard shows nothing of %s", name)
		}
	}
}

// The alert rules file is YAML in Prometheus's rule file structure, has the alerts the
// README promises, and every expression names metrics and labels Keygate exports.
func TestObservabilityAlertRulesUseExportedMetrics(t *testing.T) {
	exported := exportedFamilies(t)
	raw, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	type rule struct {
		Alert       string            `yaml:"alert"`
		Record      string            `yaml:"record"`
		Expr        string            `yaml:"expr"`
		For         string            `yaml:"for"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	}
	var file struct {
		Groups []struct {
			Name     string `yaml:"name"`
			Interval string `yaml:"interval"`
			Rules    []rule `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true) // a misspelt key is an error, as promtool makes it
	if err := dec.Decode(&file); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	if len(file.Groups) == 0 {
		t.Fatalf("%s: no groups", alertsFile)
	}
	alerts := map[string]bool{}
	for _, g := range file.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: needs a name and rules", g.Name)
		}
		for _, r := range g.Rules {
			where := fmt.Sprintf("group %q, alert %q", g.Name, r.Alert)
			if r.Alert == "" || r.Record != "" {
				t.Errorf("%s: every rule is an alert", where)
			}
			if alerts[r.Alert] {
				t.Errorf("%s: defined twice", where)
			}
			alerts[r.Alert] = true
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for: %v", where, err)
				}
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q, want warning or critical", where, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: needs a summary and a description", where)
			}
			for _, err := range checkPromQL(r.Expr, exported) {
				t.Errorf("%s: %v", where, err)
			}
		}
	}
	for _, want := range []string{"KeygateInvalidCredentialSpike", "KeygateStoreUnavailable", "KeygateChangeFeedDown", "KeygateLoginsShed"} {
		if !alerts[want] {
			t.Errorf("no alert %s", want)
		}
	}
}

// checkPromQL itself catches what it is there to catch.
func TestObservabilityPromQLCheck(t *testing.T) {
	exported := exportedFamilies(t)
	for expr, want := range map[string]string{
		`rate(keygate_auth_requests_total{result="ok"}[5m])`:                                         "",
		`histogram_quantile(0.9, sum by (le, op) (rate(keygate_store_duration_seconds_bucket[5m])))`: "",
		`rate(keygate_auth_request_total[5m])`:                                                       "is not a metric",
		`rate(keygate_logins_total{method="apikey"}[5m])`:                                            `no label "method"`,
		`sum by (op) (rate(keygate_logins_total[5m]))`:                                               `groups by "op"`,
		`rate(keygate_logins_total_count[5m])`:                                                       "is not a histogram",
		`up == 0`:                                                                                    "no Keygate metric",
	} {
		errs := checkPromQL(expr, exported)
		if got := errors.Join(errs...); (want == "") != (got == nil) || got != nil && !strings.Contains(got.Error(), want) {
			t.Errorf("%s: %v, want %q", expr, got, want)
		}
	}
}

// The change feed gauge follows the PostgreSQL listener's reports.
func TestChangeFeedGauge(t *testing.T) {
	p := &PostgresStorage{logger: zap.NewNop()}
	g := keygateMetrics().changeFeedUp.WithLabelValues("postgres")
	value := func() float64 {
		var m dto.Metric
		if err := g.Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetGauge().GetValue()
	}
	p.logListen(errors.New("connection refused"))
	if v := value(); v != 0 {
		t.Fatalf("after a lost feed: %v", v)
	}
	p.logListen(nil)
	if v := value(); v != 1 {
		t.Fatalf("after listening again: %v", v)
	}
}
