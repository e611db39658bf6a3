package reporting

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// Kinds of submission.
const (
	KindDaily  = "daily"  // key indicators of a day, period yyyy-MM-dd
	KindWeekly = "weekly" // statistics of an ISO week, period yyyy-Www
)

// EnvelopeType is the envelope type of a submission.
const EnvelopeType = "reporting.submission/v1"

// Outbox statuses.
const (
	StatusQueued   = subsystem.OutQueued
	StatusAccepted = subsystem.OutAccepted
)

// Submission is one province's report of one period.
type Submission struct {
	Kind     string           `json:"kind"`
	Admdvs   string           `json:"admdvs"`
	Period   string           `json:"period"`
	Revision int64            `json:"revision"`
	Figures  map[string]int64 `json:"figures"`
	Made     int64            `json:"made_us"`
}

// ID is kind/admdvs/period, the idempotency key.
func (s Submission) ID() string { return s.Kind + "/" + s.Admdvs + "/" + s.Period }

var (
	dayRE    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	weekRE   = regexp.MustCompile(`^(\d{4})-W(\d{2})$`)
	figureRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
)

// cst is the reporting time zone (Beijing time).
var cst = time.FixedZone("CST", 8*3600)

// periodEnd returns the first instant after the period.
func periodEnd(kind, period string) (time.Time, error) {
	switch kind {
	case KindDaily:
		if !dayRE.MatchString(period) {
			return time.Time{}, bad("period", "want yyyy-MM-dd for a daily submission")
		}
		d, err := time.ParseInLocation("2006-01-02", period, cst)
		if err != nil {
			return time.Time{}, bad("period", "not a date")
		}
		return d.AddDate(0, 0, 1), nil
	case KindWeekly:
		m := weekRE.FindStringSubmatch(period)
		if m == nil {
			return time.Time{}, bad("period", "want yyyy-Www for a weekly submission")
		}
		y, _ := strconv.Atoi(m[1])
		w, _ := strconv.Atoi(m[2])
		if w < 1 || w > 53 {
			return time.Time{}, bad("period", "week %d out of range", w)
		}
		// Monday of ISO week 1 is the Monday of the week holding 4 January.
		jan4 := time.Date(y, 1, 4, 0, 0, 0, 0, cst)
		mon := jan4.AddDate(0, 0, -((int(jan4.Weekday()) + 6) % 7))
		start := mon.AddDate(0, 0, 7*(w-1))
		if yy, ww := start.ISOWeek(); yy != y || ww != w {
			return time.Time{}, bad("period", "%s has no week %d", m[1], w)
		}
		return start.AddDate(0, 0, 7), nil
	}
	return time.Time{}, bad("kind", "want daily or weekly")
}

// Deadline is when a submission of the period is due: noon (Beijing
// time) of the day after a daily period, of the second day after a week.
func Deadline(kind, period string) (time.Time, error) {
	end, err := periodEnd(kind, period)
	if err != nil {
		return time.Time{}, err
	}
	if kind == KindWeekly {
		return end.Add(36 * time.Hour), nil
	}
	return end.Add(12 * time.Hour), nil
}

// Origin is the province the submission comes from.
func (sub *Submission) Origin() string { return sub.Admdvs }

// Rev is the submission's revision.
func (sub *Submission) Rev() int64 { return sub.Revision }

// Validate checks the kind, period and figures of the submission.
func (sub *Submission) Validate() error {
	if _, err := periodEnd(sub.Kind, sub.Period); err != nil {
		return err
	}
	if c, ok := centers.Lookup(sub.Admdvs); !ok || c.National {
		return bad("admdvs", "%q is not a province center", sub.Admdvs)
	}
	if len(sub.Figures) == 0 || len(sub.Figures) > 200 {
		return bad("figures", "want 1-200 figures")
	}
	for k, v := range sub.Figures {
		if !figureRE.MatchString(k) {
			return bad("figures", "name %q: want [a-z][a-z0-9_]{0,39}", k)
		}
		if v < 0 {
			return bad("figures", "%s is negative", k)
		}
	}
	return nil
}

func digest(sub Submission) string {
	keys := make([]string, 0, len(sub.Figures))
	for k := range sub.Figures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(sub.ID())
	for _, k := range keys {
		fmt.Fprintf(&b, "\n%s=%d", k, sub.Figures[k])
	}
	h := sm.Hash([]byte(b.String()))
	return hex.EncodeToString(h[:])
}

func (s *Service) exec(ctx context.Context, q string, args ...any) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, q, args...)
		return err
	})
}

// Submit records this province's report of a period and sends it to the
// national node. The same figures again change nothing; other figures
// make a new revision that is sent again. The stored submission and its
// outbox status are returned.
func (s *Service) Submit(ctx context.Context, kind, period string, figures map[string]int64) (*Submission, string, error) {
	sub := Submission{Kind: kind, Admdvs: s.admdvs, Period: period, Revision: 1, Figures: figures, Made: s.opts.Now().UnixMicro()}
	if err := sub.Validate(); err != nil {
		return nil, "", err
	}
	var status string
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var payload string
		var rev int64
		err := tx.QueryRow(ctx, `SELECT payload, revision, status FROM rpt_out WHERE id = ?`, sub.ID()).Scan(&payload, &rev, &status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			var old Submission
			if err := json.Unmarshal([]byte(payload), &old); err != nil {
				return err
			}
			if digest(old) == digest(sub) {
				sub = old
				return nil
			}
			sub.Revision = rev + 1
		}
		b, err := json.Marshal(sub)
		if err != nil {
			return err
		}
		status = StatusQueued
		return s.out.Put(ctx, tx, sub.ID(), sub.Revision, b, sub.Made)
	})
	if err != nil {
		return nil, "", fmt.Errorf("reporting: store submission: %w", err)
	}
	if status == StatusQueued {
		if s.deliver(ctx, sub.ID()) {
			status = StatusAccepted
		}
	}
	return &sub, status, nil
}

// deliver sends one queued submission in a freshly signed envelope.
func (s *Service) deliver(ctx context.Context, id string) bool { return s.out.Deliver(ctx, id) }

// Resend sends every queued submission once and returns how many the
// national node accepted.
func (s *Service) Resend(ctx context.Context) (int, error) { return s.out.Resend(ctx) }

// OutItem is one submission of this node with its outbox status.
type OutItem = subsystem.OutItem

// Outbox lists this node's submissions, queued first.
func (s *Service) Outbox(ctx context.Context) ([]OutItem, error) { return s.out.List(ctx) }
