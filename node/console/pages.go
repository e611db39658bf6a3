package console

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/crypto/audit"
	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/internal/fen"
)

// notConnected is what a page says for a source this node lacks.
const notConnected = "not connected on this node"

func (c *Console) routes(r *mux.Router) {
	r.HandleFunc("/login", c.loginPage).Methods(http.MethodGet)
	r.HandleFunc("/login", c.loginSubmit).Methods(http.MethodPost)
	r.HandleFunc("/logout", c.authed(c.logout)).Methods(http.MethodPost)
	r.PathPrefix("/static/").Handler(staticHandler()).Methods(http.MethodGet)
	r.HandleFunc("/", c.authed(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/grid", http.StatusSeeOther)
	})).Methods(http.MethodGet)
	r.HandleFunc("/grid", c.page("grid", "Federation", c.gridPage)).Methods(http.MethodGet)
	r.HandleFunc("/node/{admdvs:[0-9]{6}}", c.page("grid", "Center", c.nodePage)).Methods(http.MethodGet)
	r.HandleFunc("/traffic", c.page("traffic", "Settlement traffic", c.trafficPage)).Methods(http.MethodGet)
	r.HandleFunc("/refdata", c.page("refdata", "Reference data", c.refdataPage)).Methods(http.MethodGet)
	r.HandleFunc("/clearing", c.page("clearing", "Clearing", c.clearingPage)).Methods(http.MethodGet)
	r.HandleFunc("/pricing", c.page("pricing", "Prices and procurement", c.pricingPage)).Methods(http.MethodGet)
	r.HandleFunc("/audit", c.page("audit", "Audit log", c.auditPage)).Methods(http.MethodGet)
	r.HandleFunc("/alerts", c.page("alerts", "Alerts", c.alertsPage)).Methods(http.MethodGet)
	r.HandleFunc("/users", c.page("users", "Users", c.usersPage)).Methods(http.MethodGet)
	r.HandleFunc("/users", c.writer(c.addUser)).Methods(http.MethodPost)
	r.HandleFunc("/users/{name}/{op:disable|enable}", c.writer(c.setUserDisabled)).Methods(http.MethodPost)
}

// gridRow is one center of the federation grid.
type gridRow struct {
	Admdvs, Name, Role string
	// Known is false when no source says anything about the center.
	Known  bool
	Member Member
	Lag    uint64
	HasLag bool
}

// grid joins the 33 centers with what the sources say about them.
func (c *Console) grid(ctx context.Context, src sources) []gridRow {
	by := map[string]Member{}
	if src.members != nil {
		for _, m := range src.members.Members(ctx) {
			by[m.Admdvs] = m
		}
	}
	self := c.host.Self.Admdvs
	if m, ok := by[self]; !ok || m.CertNotAfter.IsZero() {
		d := c.host.Detail(ctx)
		if !ok {
			m = Member{Admdvs: self, Name: d.Name, Role: d.Role, Version: d.Version, Reachable: true, Ready: d.Ready,
				LastSeen: c.now(), Checks: map[string]string{}}
			for _, ch := range d.Checks {
				m.Checks[ch.Name] = ch.Status
			}
		}
		for _, crt := range d.Certs {
			if crt.Usage == "sign" {
				m.CertNotAfter = crt.NotAfter
			}
		}
		by[self] = m
	}
	// Lag is measured against the furthest applied index any center
	// reports, comparing like with like (gossip reports lag a little
	// behind the replicator, equally for every center).
	var top uint64
	var haveTop bool
	if src.refdata != nil {
		if st, err := src.refdata.RefData(ctx); err == nil {
			if m, ok := by[self]; ok && !m.HasApplied {
				m.Applied, m.HasApplied, m.RaftRole = st.AppliedIndex, true, st.RaftRole
				by[self] = m
			}
		}
	}
	for _, m := range by {
		if m.HasApplied && (!haveTop || m.Applied > top) {
			top, haveTop = m.Applied, true
		}
	}
	var out []gridRow
	for _, ct := range centers.All() {
		role := "province"
		if ct.National {
			role = "national"
		}
		g := gridRow{Admdvs: ct.Admdvs, Name: ct.Name, Role: role}
		if m, ok := by[ct.Admdvs]; ok {
			g.Known, g.Member = true, m
			if m.Role != "" {
				g.Role = m.Role
			}
			if m.HasApplied && haveTop {
				g.Lag, g.HasLag = top-m.Applied, true
			}
		} else {
			g.Member = Member{Admdvs: ct.Admdvs, Name: ct.Name}
		}
		out = append(out, g)
	}
	return out
}

// whyNot explains why a center is not ready.
func whyNot(g gridRow, membersConnected bool) string {
	m := g.Member
	switch {
	case !g.Known && !membersConnected:
		return "membership " + notConnected
	case !g.Known:
		return "not a member seen by this node"
	case !m.Reachable && m.Problem != "":
		return m.Problem
	case m.Gossip == "dead" || m.Gossip == "left" || m.Gossip == "suspect":
		return "gossip state " + m.Gossip
	case !m.Reachable:
		return "not answering"
	case !m.Ready:
		if w := why(m); w != "" {
			return w
		}
		if m.Problem != "" {
			return m.Problem
		}
		return "not ready"
	}
	return ""
}

func (c *Console) gridPage(r *http.Request, v *view) error {
	u := v.User
	src := c.sources()
	rows := c.grid(r.Context(), src)
	t := &table{ID: "centers", Title: "Centers", Refresh: true,
		Head: []string{"Center", "Admdvs", "Health", "Role", "Version", "Ref-data applied", "Lag", "Raft role", "Gossip", "Last seen", "Why not ready"}}
	counts := map[Health]int{}
	now := c.now()
	for _, g := range rows {
		if !u.Sees(g.Admdvs) {
			continue
		}
		m := g.Member
		h := m.Health()
		counts[h]++
		applied, lag := "—", "—"
		if m.HasApplied {
			applied = strconv.FormatUint(m.Applied, 10)
		}
		lagClass := "num"
		if g.HasLag {
			lag = strconv.FormatUint(g.Lag, 10)
			if g.Lag > c.opts.Thresholds.RefDataLag {
				lagClass = "num bad"
			}
		}
		seen := ago(now, m.LastSeen)
		if m.Admdvs == c.host.Self.Admdvs && m.Reachable {
			seen = "this node"
		}
		t.Rows = append(t.Rows, row{Class: "r-" + string(h), Cells: []cell{
			{Text: g.Name, Href: "/node/" + g.Admdvs},
			{Text: g.Admdvs},
			{Text: string(h), Class: "h-" + string(h)},
			{Text: g.Role},
			{Text: dash(m.Version)},
			{Text: applied, Class: "num"},
			{Text: lag, Class: lagClass},
			{Text: dash(m.RaftRole)},
			{Text: dash(m.Gossip)},
			{Text: seen, Title: whenTitle(m.LastSeen)},
			{Text: whyNot(g, src.members != nil), Class: "wrap"},
		}})
	}
	v.Facts = []fact{
		{"Up", strconv.Itoa(counts[HealthUp]), "ok", "up"},
		{"Degraded", strconv.Itoa(counts[HealthDegraded]), "warn", "degraded"},
		{"Down", strconv.Itoa(counts[HealthDown]), "bad", "down"},
		{"Unknown", strconv.Itoa(counts[HealthUnknown]), "", "unknown"},
	}
	if src.members == nil {
		v.Banners = append(v.Banners, banner{"info", "Federation membership is " + notConnected + ": only this node's own state is shown."})
	}
	v.Tables = []*table{t}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func whenTitle(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// eventSource is a Members source that also remembers each center's
// recent problems (the Poller does).
type eventSource interface {
	Events(admdvs string) []LogEntry
}

func (c *Console) nodePage(r *http.Request, v *view) error {
	admdvs := mux.Vars(r)["admdvs"]
	ct, ok := centers.Lookup(admdvs)
	if !ok {
		return notFound("no center " + admdvs)
	}
	if !v.User.Sees(admdvs) {
		return forbidden("center " + admdvs + " is outside your scope")
	}
	ctx := r.Context()
	src := c.sources()
	var d NodeDetail
	var have bool
	self := admdvs == c.host.Self.Admdvs
	switch {
	case self:
		d, have = c.host.Detail(ctx), true
		if src.errors != nil && len(d.Errors) == 0 {
			d.Errors = src.errors.Recent()
		}
	case src.details != nil:
		d, have = src.details.Detail(ctx, admdvs)
	}
	var g gridRow
	for _, x := range c.grid(ctx, src) {
		if x.Admdvs == admdvs {
			g = x
		}
	}
	m := g.Member
	if !have {
		d = NodeDetail{Admdvs: admdvs, Name: ct.Name, Role: g.Role, Version: m.Version, Ready: m.Ready}
		for name, st := range m.Checks {
			d.Checks = append(d.Checks, Check{name, st})
		}
		sort.Slice(d.Checks, func(i, j int) bool { return d.Checks[i].Name < d.Checks[j].Name })
		v.Banners = append(v.Banners, banner{"info", "Database, certificates and logs of " + ct.Name + " are " + notConnected + "; readiness comes from probing the center."})
	}
	if es, ok := src.members.(eventSource); ok {
		d.Errors = append(d.Errors, es.Events(admdvs)...)
		sort.SliceStable(d.Errors, func(i, j int) bool { return d.Errors[i].Time.After(d.Errors[j].Time) })
	}
	v.Title = fmt.Sprintf("%s (%s)", ct.Name, admdvs)
	h := m.Health()
	if self && !g.Known {
		h = HealthUp
	}
	v.Facts = []fact{
		{"Health", string(h), "h-" + string(h), ""},
		{"Ready", yesNo(d.Ready), okClass(d.Ready), ""},
		{"Role", dash(d.Role), "", ""},
		{"Version", dash(d.Version), "", ""},
		{"Database", dash(strings.TrimSpace(d.Database + " " + d.DatabaseInfo)), "", ""},
		{"Last seen", ago(c.now(), m.LastSeen), "", ""},
	}
	if w := whyNot(g, src.members != nil); w != "" && !(self && !g.Known) {
		v.Banners = append(v.Banners, banner{"warn", "Why not ready: " + w})
	}
	checks := &table{ID: "checks", Title: "Readiness checks", Head: []string{"Check", "Status"}, Empty: "no readiness report"}
	for _, ch := range d.Checks {
		cls := "ok"
		if !ch.OK() {
			cls = "bad wrap"
		}
		checks.Rows = append(checks.Rows, row{Cells: []cell{{Text: ch.Name}, {Text: ch.Status, Class: cls}}})
	}
	certs := &table{ID: "certs", Title: "Certificates", Head: []string{"Usage", "Subject", "Issuer", "Serial", "Not after", "Expires in"}, Empty: "no certificates known"}
	if !have {
		certs.Empty = notConnected
	}
	now := c.now()
	for _, crt := range d.Certs {
		left := crt.NotAfter.Sub(now)
		cls := "ok"
		if left < c.opts.Thresholds.CertExpiry {
			cls = "bad"
		}
		certs.Rows = append(certs.Rows, row{Cells: []cell{{Text: crt.Usage}, {Text: crt.Subject, Class: "wrap"}, {Text: crt.Issuer, Class: "wrap"},
			{Text: crt.Serial}, {Text: crt.NotAfter.UTC().Format("2006-01-02 15:04Z")}, {Text: days(left), Class: cls}}})
	}
	listeners := &table{ID: "listeners", Title: "Listeners", Head: []string{"Listener", "Address"}, Empty: "none known"}
	names := make([]string, 0, len(d.Listeners))
	for k := range d.Listeners {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		listeners.Rows = append(listeners.Rows, row{Cells: []cell{{Text: k}, {Text: d.Listeners[k]}}})
	}
	errs := &table{ID: "errors", Title: "Recent errors and warnings", Head: []string{"Time", "Level", "Message"}, Empty: "none recorded"}
	for _, e := range d.Errors {
		cls := "wrap"
		if e.Level == "ERROR" {
			cls = "wrap bad"
		}
		errs.Rows = append(errs.Rows, row{Cells: []cell{{Text: e.Time.UTC().Format("2006-01-02 15:04:05Z")}, {Text: e.Level}, {Text: e.Message, Class: cls}}})
	}
	v.Tables = []*table{checks, certs, listeners, errs}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func okClass(b bool) string {
	if b {
		return "ok"
	}
	return "bad"
}

func (c *Console) trafficPage(r *http.Request, v *view) error {
	src := c.sources()
	minutes := &table{ID: "minutes", Title: "Per minute", Head: []string{"Minute", "Local", "Routed", "Failures", "Reversals", "p50", "p99"}, Empty: "no settlements in the last hour"}
	pairs := &table{ID: "pairs", Title: "Province pairs (insured in → treated in)", Head: []string{"Insured in", "Treated in", "Settlements", "Failures", "Reversals", "Failure rate"}, Empty: "no cross-province traffic in the last hour"}
	v.Tables = []*table{minutes, pairs}
	if src.traffic == nil {
		minutes.Empty, pairs.Empty = "settlement traffic "+notConnected, "settlement traffic "+notConnected
		v.Banners = append(v.Banners, banner{"info", "Settlement traffic is " + notConnected + "."})
		return nil
	}
	rep, err := src.traffic.Traffic(r.Context(), c.now().Add(-time.Hour))
	if err != nil {
		return fmt.Errorf("traffic: %w", err)
	}
	sort.Slice(rep.Minutes, func(i, j int) bool { return rep.Minutes[i].Minute.Before(rep.Minutes[j].Minute) })
	var total, failed, reversed int64
	for _, m := range rep.Minutes {
		total += m.Local + m.Routed
		failed += m.Failures
		reversed += m.Reversals
		minutes.Rows = append(minutes.Rows, row{Cells: []cell{{Text: m.Minute.UTC().Format("2006-01-02 15:04Z")},
			{Text: itoa(m.Local), Class: "num"}, {Text: itoa(m.Routed), Class: "num"}, {Text: itoa(m.Failures), Class: "num"},
			{Text: itoa(m.Reversals), Class: "num"}, {Text: ms(m.P50), Class: "num"}, {Text: ms(m.P99), Class: "num"}}})
	}
	rate := "—"
	if total > 0 {
		rate = bp(failed * 10000 / total)
	}
	v.Facts = []fact{{"Settlements (1 h)", itoa(total), "", ""}, {"Failures", itoa(failed), okClass(failed == 0), ""}, {"Failure rate", rate, "", ""}, {"Reversals", itoa(reversed), "", ""}}
	v.Charts = trafficCharts(rep.Minutes)
	sort.Slice(rep.Pairs, func(i, j int) bool { return rep.Pairs[i].Count > rep.Pairs[j].Count })
	for _, p := range rep.Pairs {
		if !v.User.Sees(p.From) && !v.User.Sees(p.To) {
			continue
		}
		pr := "—"
		if p.Count > 0 {
			pr = bp(p.Failures * 10000 / p.Count)
		}
		rc := ""
		if p.Count > 0 && p.Failures*10000 > c.opts.Thresholds.ErrorRateBP*p.Count {
			rc = "r-bad"
		}
		pairs.Rows = append(pairs.Rows, row{Class: rc, Cells: []cell{{Text: centerName(p.From)}, {Text: centerName(p.To)}, {Text: itoa(p.Count), Class: "num"},
			{Text: itoa(p.Failures), Class: "num"}, {Text: itoa(p.Reversals), Class: "num"}, {Text: pr, Class: "num"}}})
	}
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func ms(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

func centerName(admdvs string) string {
	if c, ok := centers.Lookup(admdvs); ok {
		return c.Name + " " + admdvs
	}
	return admdvs
}

func (c *Console) refdataPage(r *http.Request, v *view) error {
	src := c.sources()
	ns := &table{ID: "namespaces", Title: "Namespaces", Head: []string{"Namespace", "Version", "Items", "Last publish", "Publisher"}, Empty: "no namespace published yet"}
	rej := &table{ID: "rejections", Title: "Rejected batches", Head: []string{"Raft index", "Namespace", "Signer", "Time", "Reason"}, Empty: "none"}
	v.Tables = []*table{ns, rej}
	if src.refdata == nil {
		ns.Empty, rej.Empty = "reference data "+notConnected, "reference data "+notConnected
		v.Banners = append(v.Banners, banner{"info", "Reference data is " + notConnected + "."})
		return nil
	}
	st, err := src.refdata.RefData(r.Context())
	if err != nil {
		v.Banners = append(v.Banners, banner{"bad", "Reference data cannot be read: " + err.Error()})
		return nil
	}
	lagClass := "ok"
	if st.Lag > c.opts.Thresholds.RefDataLag {
		lagClass = "bad"
	}
	v.Facts = []fact{{"Raft role", dash(st.RaftRole), "", ""}, {"Leader", dash(centerName(st.Leader)), "", ""},
		{"Applied index", strconv.FormatUint(st.AppliedIndex, 10), "", ""}, {"Commit index", strconv.FormatUint(st.CommitIndex, 10), "", ""},
		{"Lag", strconv.FormatUint(st.Lag, 10), lagClass, ""}}
	for _, n := range st.Namespaces {
		ns.Rows = append(ns.Rows, row{Cells: []cell{{Text: n.Name}, {Text: itoa(n.Version), Class: "num"}, {Text: itoa(n.Items), Class: "num"},
			{Text: timeText(n.LastPublish)}, {Text: dash(n.Publisher)}}})
	}
	for _, x := range st.Rejections {
		rej.Rows = append(rej.Rows, row{Class: "r-bad", Cells: []cell{{Text: strconv.FormatUint(x.Index, 10), Class: "num"}, {Text: x.Namespace},
			{Text: dash(x.Signer)}, {Text: timeText(x.Time)}, {Text: x.Reason, Class: "wrap"}}})
	}
	return nil
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func (c *Console) clearingPage(r *http.Request, v *view) error {
	want := r.URL.Query().Get("admdvs")
	if want != "" {
		if _, ok := centers.Lookup(want); !ok {
			return badRequest("no center " + want)
		}
		if !v.User.Sees(want) {
			return forbidden("the clearing statement of " + want + " is outside your scope")
		}
	}
	src := c.sources()
	t := &table{ID: "statements", Title: "Statements", Head: []string{"Month", "Province", "Receivable", "Payable", "Net", "Status", "Reconciliation"}, Empty: "no clearing statement yet"}
	v.Tables = []*table{t}
	if src.clearing == nil {
		t.Empty = "clearing " + notConnected
		v.Banners = append(v.Banners, banner{"info", "Clearing is " + notConnected + "."})
		return nil
	}
	sts, err := src.clearing.Clearing(r.Context())
	if err != nil {
		return fmt.Errorf("clearing: %w", err)
	}
	sort.SliceStable(sts, func(i, j int) bool {
		if sts[i].Month != sts[j].Month {
			return sts[i].Month > sts[j].Month
		}
		return sts[i].Admdvs < sts[j].Admdvs
	})
	mismatches := 0
	for _, s := range sts {
		if !v.User.Sees(s.Admdvs) || want != "" && s.Admdvs != want {
			continue
		}
		rc, rec := "", "matches"
		if s.Mismatch != "" {
			rc, rec = "r-bad", s.Mismatch
			mismatches++
		}
		t.Rows = append(t.Rows, row{Class: rc, Cells: []cell{{Text: s.Month}, {Text: centerName(s.Admdvs), Href: "/clearing?admdvs=" + s.Admdvs},
			{Text: yuan(s.Receivable), Class: "num"}, {Text: yuan(s.Payable), Class: "num"}, {Text: yuan(s.Net), Class: "num"},
			{Text: s.Status}, {Text: rec, Class: "wrap"}}})
	}
	if mismatches > 0 {
		v.Banners = append(v.Banners, banner{"bad", fmt.Sprintf("%d statement(s) do not reconcile.", mismatches)})
	}
	return nil
}

// yuan formats integer fen as yuan with two decimals.
func yuan(f int64) string { return fen.Fen(f).String() }

func (c *Console) auditPage(r *http.Request, v *view) error {
	src := c.sources()
	ctx := r.Context()
	var recs []audit.Record
	var err error
	var verr error
	which := "the console's own audit chain (logins and account changes)"
	if src.auditLog != nil {
		which = "the node's audit chain"
		recs, err = src.auditLog.All(ctx)
		if err == nil {
			verr = audit.Verify(recs)
		}
	} else {
		recs, err = c.audit.All(ctx)
		if err == nil {
			var seq int64
			var hash string
			seq, hash, err = c.audit.Head(ctx)
			if err == nil {
				verr = audit.VerifyHead(recs, seq, hash)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if verr != nil {
		v.Banners = append(v.Banners, banner{"bad", "Chain verification FAILED for " + which + ": " + verr.Error()})
	} else {
		v.Banners = append(v.Banners, banner{"ok", fmt.Sprintf("Chain verified: %d records of %s link up with SM3 hashes from the genesis to the head.", len(recs), which)})
	}
	t := &table{ID: "records", Title: "Records (newest first)", Head: []string{"Seq", "Time", "Actor", "Action", "Detail", "Hash"}, Empty: "no records"}
	var broken int64 = -1
	if be, ok := verr.(*audit.BrokenError); ok {
		broken = be.Seq
	}
	const maxRows = 2000
	for i := len(recs) - 1; i >= 0 && len(t.Rows) < maxRows; i-- {
		x := recs[i]
		rc := ""
		if x.Seq == broken {
			rc = "r-bad"
		}
		t.Rows = append(t.Rows, row{Class: rc, Cells: []cell{{Text: itoa(x.Seq), Class: "num"}, {Text: timeText(x.Time)}, {Text: x.Actor},
			{Text: x.Action}, {Text: x.Detail, Class: "wrap"}, {Text: short(x.Hash), Title: x.Hash}}})
	}
	if len(recs) > maxRows {
		t.Note = fmt.Sprintf("Showing the newest %d of %d records; all were verified.", maxRows, len(recs))
	}
	v.Tables = []*table{t}
	return nil
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

func (c *Console) alertsPage(r *http.Request, v *view) error {
	src := c.sources()
	as := c.evaluate(r.Context())
	t := &table{ID: "alerts", Title: "Active alerts", Head: []string{"Kind", "Center", "Message"}, Empty: "no active alert", Refresh: true}
	for _, a := range as {
		if !v.User.Sees(a.Admdvs) {
			continue
		}
		t.Rows = append(t.Rows, row{Class: "r-bad", Cells: []cell{{Text: a.Kind}, {Text: centerName(a.Admdvs), Href: "/node/" + a.Admdvs}, {Text: a.Message, Class: "wrap"}}})
	}
	v.AlertCount = len(t.Rows)
	th := c.opts.Thresholds
	rules := &table{ID: "rules", Title: "Alert rules", Head: []string{"Kind", "Fires when", "Source"}}
	state := func(connected bool) string {
		if connected {
			return "connected"
		}
		return notConnected
	}
	rules.Rows = []row{
		{Cells: []cell{{Text: AlertNodeDown}, {Text: "a center does not answer or gossip declares it dead"}, {Text: state(src.members != nil)}}},
		{Cells: []cell{{Text: AlertRefDataLag}, {Text: fmt.Sprintf("a center is more than %d reference-data entries behind", th.RefDataLag)}, {Text: state(src.members != nil || src.refdata != nil)}}},
		{Cells: []cell{{Text: AlertCertExpiry}, {Text: "a node certificate expires within " + days(th.CertExpiry)}, {Text: "connected"}}},
		{Cells: []cell{{Text: AlertSettlementErrors}, {Text: fmt.Sprintf("more than %s of at least %d settlements fail within %s", bp(th.ErrorRateBP), th.MinSettlements, th.ErrorWindow)}, {Text: state(src.traffic != nil)}}},
		{Cells: []cell{{Text: AlertClearingMismatch}, {Text: "a clearing statement does not reconcile"}, {Text: state(src.clearing != nil)}}},
	}
	v.Tables = []*table{t, rules}
	v.Banners = append(v.Banners, banner{"info", "Alerts are also exported on this node's /metrics as ybnode_console_alert{kind,admdvs} and ybnode_console_alerts{kind}."})
	return nil
}

func (c *Console) usersPage(r *http.Request, v *view) error {
	us, err := c.users.List(r.Context())
	if err != nil {
		return err
	}
	t := &table{ID: "users", Title: "Console users", Head: []string{"User", "Role", "Center", "State", "Created", "Action"}, Empty: "no user in your scope"}
	for _, u := range us {
		if !v.User.Sees(u.Admdvs) {
			continue
		}
		state, act := "enabled", cell{}
		if u.Disabled {
			state = "disabled"
		}
		if v.User.CanWrite() && v.User.Manages(u) && u.Name != v.User.Name {
			if u.Disabled {
				act = cell{Text: "Enable", Post: "/users/" + u.Name + "/enable"}
			} else {
				act = cell{Text: "Disable", Post: "/users/" + u.Name + "/disable"}
			}
		}
		rc := ""
		if u.Disabled {
			rc = "r-unknown"
		}
		t.Rows = append(t.Rows, row{Class: rc, Cells: []cell{{Text: u.Name}, {Text: string(u.Role)}, {Text: centerName(u.Admdvs)}, {Text: state}, {Text: timeText(u.Created)}, act}})
	}
	v.Tables = []*table{t}
	f := &userForm{National: v.User.Role == RoleNationalAdmin}
	if f.National {
		for _, ct := range centers.All() {
			f.Admdvs = append(f.Admdvs, ct.Admdvs)
		}
	} else {
		f.Fixed = v.User.Admdvs
	}
	v.UserForm = f
	return nil
}

func (c *Console) addUser(w http.ResponseWriter, r *http.Request) {
	me := stateOf(r).User
	u := User{Name: strings.TrimSpace(r.PostFormValue("username")), Role: Role(r.PostFormValue("role")), Admdvs: r.PostFormValue("admdvs")}
	if !me.Manages(u) || !c.serves(u) {
		http.Error(w, "forbidden: you cannot create this account", http.StatusForbidden)
		return
	}
	pw := r.PostFormValue("password")
	generated := pw == ""
	if generated {
		pw = GeneratePassword()
	}
	if err := c.users.Add(r.Context(), u, pw); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.record(r.Context(), me.Name, "user.add", fmt.Sprintf("user=%s role=%s admdvs=%s", u.Name, u.Role, u.Admdvs))
	msg := "Added " + u.Name + "."
	if generated {
		// Shown once, in this response only, to the admin who created
		// the account; never in a URL or a log.
		msg += " Initial password: " + pw
	}
	c.serve(w, r, "users", "Users", func(r *http.Request, v *view) error {
		v.Banners = append(v.Banners, banner{"ok", msg})
		return c.usersPage(r, v)
	})
}

func (c *Console) setUserDisabled(w http.ResponseWriter, r *http.Request) {
	me := stateOf(r).User
	vars := mux.Vars(r)
	t, err := c.users.Get(r.Context(), vars["name"])
	if err != nil {
		http.Error(w, "no such user", http.StatusNotFound)
		return
	}
	if !me.Manages(t) || t.Name == me.Name {
		http.Error(w, "forbidden: you cannot change this account", http.StatusForbidden)
		return
	}
	disable := vars["op"] == "disable"
	if err := c.users.SetDisabled(r.Context(), t.Name, disable); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	c.record(r.Context(), me.Name, "user."+vars["op"], "user="+t.Name)
	http.Redirect(w, r, "/users", http.StatusSeeOther)
}
