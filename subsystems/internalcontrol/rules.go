package internalcontrol

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ybfed/ybfed/internal/fen"
)

// Rule names.
const (
	RuleSelfRecord     = "self_record"      // an operator acted on their own record
	RuleVolume         = "volume"           // unusual daily volume
	RuleOffHoursExport = "off_hours_export" // bulk export outside working hours
	RuleReversals      = "reversals"        // repeated reversals by one operator
	RuleApproval       = "approval"         // the action needs four-eyes approval (reminder only)
)

// Severities.
const (
	SeverityHigh   = "high"
	SeverityMedium = "medium"
	SeverityLow    = "low"
)

// Sensitive action kinds that need four-eyes approval.
const (
	KindFundPayment     = "fund.payment"     // above Rules.PaymentThreshold
	KindCatalogueRetire = "catalogue.retire" // always
	KindKeyRotate       = "key.rotate"       // always
)

// Rules are the risk rules on operator behaviour and the approval
// policy. Times are judged on the clock of UTCOffsetHours (8, China
// Standard Time).
type Rules struct {
	UTCOffsetHours int `json:"utc_offset_hours"`
	// Working hours [WorkStart, WorkEnd) on Monday to Friday.
	WorkStart int `json:"work_start"`
	WorkEnd   int `json:"work_end"`
	// BulkExportRows is the row count from which an export (kind ending in
	// ".export") is bulk.
	BulkExportRows int64 `json:"bulk_export_rows"`
	// MaxDaily is the absolute daily action count above which volume is
	// unusual. BaselineFactor × the operator's mean daily count over the
	// previous BaselineDays days is the relative limit, applied from
	// BaselineMin actions and once the operator was active on at least
	// five of those days.
	MaxDaily       int `json:"max_daily"`
	BaselineFactor int `json:"baseline_factor"`
	BaselineMin    int `json:"baseline_min"`
	BaselineDays   int `json:"baseline_days"`
	// ReversalSuffixes mark reversal kinds (".reverse", ".cancel");
	// MaxReversals in one day by one operator is a finding.
	ReversalSuffixes []string `json:"reversal_suffixes"`
	MaxReversals     int      `json:"max_reversals"`
	// PaymentThreshold is the fund payment amount from which approval is
	// needed; ApprovalKinds always need it.
	PaymentThreshold fen.Fen  `json:"payment_threshold"`
	ApprovalKinds    []string `json:"approval_kinds"`
	// ApprovalTTLHours bounds how long a request may wait for approval and
	// execution.
	ApprovalTTLHours int `json:"approval_ttl_hours"`
}

// DefaultRules returns the rules used when none are configured.
func DefaultRules() Rules {
	return Rules{
		UTCOffsetHours: 8, WorkStart: 8, WorkEnd: 18,
		BulkExportRows: 1000,
		MaxDaily:       500, BaselineFactor: 3, BaselineMin: 50, BaselineDays: 28,
		ReversalSuffixes: []string{".reverse", ".cancel"}, MaxReversals: 5,
		PaymentThreshold: fen.Yuan(50000),
		ApprovalKinds:    []string{KindCatalogueRetire, KindKeyRotate},
		ApprovalTTLHours: 24,
	}
}

// Validate checks the rules' ranges.
func (r Rules) Validate() error {
	switch {
	case r.UTCOffsetHours < -12 || r.UTCOffsetHours > 14:
		return bad("utc_offset_hours", "want -12..14")
	case r.WorkStart < 0 || r.WorkEnd > 24 || r.WorkStart >= r.WorkEnd:
		return bad("work_start", "want 0 <= work_start < work_end <= 24")
	case r.BulkExportRows <= 0:
		return bad("bulk_export_rows", "want > 0")
	case r.MaxDaily <= 0:
		return bad("max_daily", "want > 0")
	case r.BaselineFactor < 1 || r.BaselineMin < 1 || r.BaselineDays < 5 || r.BaselineDays > 366:
		return bad("baseline_days", "want factor >= 1, min >= 1, 5 <= days <= 366")
	case r.MaxReversals < 1:
		return bad("max_reversals", "want >= 1")
	case r.PaymentThreshold < 0:
		return bad("payment_threshold", "negative")
	case r.ApprovalTTLHours < 1 || r.ApprovalTTLHours > 24*31:
		return bad("approval_ttl_hours", "want 1..744")
	}
	return nil
}

func (r Rules) zone() *time.Location { return time.FixedZone("local", r.UTCOffsetHours*3600) }

// day is the local calendar day of t, yyyy-MM-dd.
func (r Rules) day(t time.Time) string { return t.In(r.zone()).Format("2006-01-02") }

// offHours reports whether t is outside working hours.
func (r Rules) offHours(t time.Time) bool {
	l := t.In(r.zone())
	if wd := l.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return true
	}
	return l.Hour() < r.WorkStart || l.Hour() >= r.WorkEnd
}

func (r Rules) isReversal(kind string) bool {
	for _, s := range r.ReversalSuffixes {
		if strings.HasSuffix(kind, s) {
			return true
		}
	}
	return false
}

// NeedsApproval reports whether an action of kind and amount needs
// four-eyes approval.
func (r Rules) NeedsApproval(kind string, amount fen.Fen) bool {
	if kind == KindFundPayment {
		return amount >= r.PaymentThreshold
	}
	return slices.Contains(r.ApprovalKinds, kind)
}

// Finding is a risk the review found in recorded actions.
type Finding struct {
	ID       string    `json:"id"`
	Rule     string    `json:"rule"`
	Operator string    `json:"operator"`
	Severity string    `json:"severity"`
	Summary  string    `json:"summary"`
	Actions  []int64   `json:"actions"` // seqs of the actions involved
	Status   string    `json:"status"`
	Reviewer string    `json:"reviewer,omitempty"`
	Note     string    `json:"note,omitempty"`
	Found    time.Time `json:"found"`
	// at is the time of the last action involved, to place the finding in
	// a review window.
	at time.Time
}

// evaluate applies the rules to actions (time order). Actions before from
// only serve as history (baseline); findings are those whose triggering
// action is at or after from. subjects maps operator to own subject.
func (r Rules) evaluate(actions []Action, subjects map[string]string, from time.Time) []Finding {
	var out []Finding
	type opDay struct{ op, day string }
	daily := map[opDay][]Action{}
	reversals := map[opDay][]Action{}
	activeDays := map[string]map[string]int{} // op -> day -> count
	for _, a := range actions {
		d := r.day(a.At)
		if activeDays[a.Operator] == nil {
			activeDays[a.Operator] = map[string]int{}
		}
		activeDays[a.Operator][d]++
		if a.At.Before(from) {
			continue
		}
		k := opDay{a.Operator, d}
		daily[k] = append(daily[k], a)
		if r.isReversal(a.Kind) {
			reversals[k] = append(reversals[k], a)
		}
		if sub, ok := subjects[a.Operator]; ok && a.Subject != "" && a.Subject == sub {
			out = append(out, Finding{ID: fmt.Sprintf("%s:%d", RuleSelfRecord, a.Seq), Rule: RuleSelfRecord, Operator: a.Operator,
				Severity: SeverityHigh, Summary: fmt.Sprintf("%s on the operator's own record %s", a.Kind, a.Object),
				Actions: []int64{a.Seq}, at: a.At})
		}
		if strings.HasSuffix(a.Kind, ".export") && a.Rows >= r.BulkExportRows && r.offHours(a.At) {
			out = append(out, Finding{ID: fmt.Sprintf("%s:%d", RuleOffHoursExport, a.Seq), Rule: RuleOffHoursExport, Operator: a.Operator,
				Severity: SeverityHigh, Summary: fmt.Sprintf("%s of %d rows at %s", a.Kind, a.Rows, a.At.In(r.zone()).Format("Mon 15:04")),
				Actions: []int64{a.Seq}, at: a.At})
		}
	}
	seqs := func(as []Action) []int64 {
		out := make([]int64, len(as))
		for i, a := range as {
			out[i] = a.Seq
		}
		return out
	}
	for k, as := range daily {
		n := len(as)
		limit, why := r.MaxDaily, fmt.Sprintf("above the limit %d", r.MaxDaily)
		if n <= limit && n >= r.BaselineMin {
			total, days := r.baseline(activeDays[k.op], k.day)
			if days >= 5 {
				// Compare n with factor × mean in integers: n × BaselineDays > factor × total.
				if n*r.BaselineDays > r.BaselineFactor*total {
					limit = -1
					why = fmt.Sprintf("more than %d× the operator's mean of %d.%02d a day over %d days",
						r.BaselineFactor, total/r.BaselineDays, total*100/r.BaselineDays%100, r.BaselineDays)
				}
			}
		}
		if n > limit {
			out = append(out, Finding{ID: fmt.Sprintf("%s:%s:%s", RuleVolume, k.op, k.day), Rule: RuleVolume, Operator: k.op,
				Severity: SeverityMedium, Summary: fmt.Sprintf("%d actions on %s, %s", n, k.day, why),
				Actions: seqs(as), at: as[n-1].At})
		}
	}
	for k, as := range reversals {
		if len(as) >= r.MaxReversals {
			out = append(out, Finding{ID: fmt.Sprintf("%s:%s:%s", RuleReversals, k.op, k.day), Rule: RuleReversals, Operator: k.op,
				Severity: SeverityMedium, Summary: fmt.Sprintf("%d reversals on %s (limit %d)", len(as), k.day, r.MaxReversals),
				Actions: seqs(as), at: as[len(as)-1].At})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// baseline sums an operator's daily counts over the BaselineDays days
// before day and counts the days with any action.
func (r Rules) baseline(counts map[string]int, day string) (total, days int) {
	d, err := time.Parse("2006-01-02", day)
	if err != nil {
		return 0, 0
	}
	for i := 1; i <= r.BaselineDays; i++ {
		if n := counts[d.AddDate(0, 0, -i).Format("2006-01-02")]; n > 0 {
			total += n
			days++
		}
	}
	return total, days
}
