package credit

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/internal/fen"
)

// Subject types (DOMAIN §9 credit_event.subject_type).
const (
	SubjectInstitution = "inst"
	SubjectDoctor      = "doctor"
	SubjectNurse       = "nurse"
	SubjectPharmacist  = "pharmacist"
	SubjectUnit        = "unit"
)

// Model classes.
const (
	ClassInstitution = "institution"
	ClassPersonnel   = "personnel"
	ClassUnit        = "unit"
)

// classOf maps a subject type to its model class.
func classOf(subjectType string) (string, bool) {
	switch subjectType {
	case SubjectInstitution:
		return ClassInstitution, true
	case SubjectDoctor, SubjectNurse, SubjectPharmacist:
		return ClassPersonnel, true
	case SubjectUnit:
		return ClassUnit, true
	}
	return "", false
}

// Event kinds the testdata model scores; a model may add its own.
const (
	EventFindingConfirmed   = "finding_confirmed"   // supervision finding confirmed
	EventReconciliationLate = "reconciliation_late" // reconciliation (3201) after the deadline; Days late
	EventReconciliationOK   = "reconciliation_on_time"
	EventComplaintUpheld    = "complaint_upheld"
	EventContributionLate   = "contribution_late" // insured unit; Days late
)

// Event is one fact about a subject that the model may score.
type Event struct {
	ID          string       `json:"id"` // unique; the source's reference makes reruns idempotent
	SubjectType string       `json:"subject_type"`
	SubjectCode string       `json:"subject_code"`
	Kind        string       `json:"kind"`
	Severity    string       `json:"severity,omitempty"`
	Amount      fen.Fen      `json:"amount,omitempty"`
	Days        int          `json:"days,omitempty"`
	Date        catalog.Date `json:"date"`
	// Evidence references what the event rests on, e.g.
	// "supervision:R007/S2/S1" or "complaint:2026-0012".
	Evidence string `json:"evidence"`
}

// Rule scores one kind of event.
type Rule struct {
	ID       string `json:"id"`
	Event    string `json:"event"`
	Severity string `json:"severity,omitempty"` // "" matches any
	Text     string `json:"text"`
	// Points per event (negative deducts from a score), plus AmountPoints
	// per full PerAmount of the event's amount and PerDay per day late.
	Points       int     `json:"points"`
	PerAmount    fen.Fen `json:"per_amount,omitempty"`
	AmountPoints int     `json:"amount_points,omitempty"`
	PerDay       int     `json:"per_day,omitempty"`
	// Cap bounds the rule's total over the year (same sign as its
	// points); 0 means none.
	Cap int `json:"cap,omitempty"`
}

// Grade is a grade threshold.
type Grade struct {
	Grade string `json:"grade"`
	Min   int    `json:"min"`
}

// Step is a personnel status reached at Min accumulated points.
type Step struct {
	Min    int    `json:"min"`
	Status string `json:"status"`
}

// Class is the scoring of one class of subjects.
type Class struct {
	// Kind is "score" (base ± points, graded) or "points" (accumulated
	// points against Limit, with Steps).
	Kind   string  `json:"kind"`
	Base   int     `json:"base,omitempty"`
	Max    int     `json:"max,omitempty"`
	Grades []Grade `json:"grades,omitempty"`
	Limit  int     `json:"limit,omitempty"`
	Steps  []Step  `json:"steps,omitempty"`
	Rules  []Rule  `json:"rules"`
}

// Model is one published version of the scoring model.
type Model struct {
	Version string           `json:"version"`
	Admdvs  string           `json:"admdvs,omitempty"`
	Classes map[string]Class `json:"classes"`
}

// ParseModel reads a model from JSON and checks it.
func ParseModel(r io.Reader) (*Model, error) {
	var m Model
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("credit: model: %w", err)
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Check validates the model and sorts its grades and steps.
func (m *Model) Check() error {
	if m.Version == "" {
		return fmt.Errorf("credit: model: no version")
	}
	for _, name := range []string{ClassInstitution, ClassPersonnel, ClassUnit} {
		c, ok := m.Classes[name]
		if !ok {
			return fmt.Errorf("credit: model: class %s missing", name)
		}
		bad := func(why string) error { return fmt.Errorf("credit: model: class %s: %s", name, why) }
		switch c.Kind {
		case "score":
			if c.Base <= 0 || c.Max < c.Base || len(c.Grades) == 0 {
				return bad("a score needs 0 < base ≤ max and grades")
			}
			sort.Slice(c.Grades, func(i, j int) bool { return c.Grades[i].Min > c.Grades[j].Min })
			if c.Grades[len(c.Grades)-1].Min != 0 {
				return bad("the lowest grade must start at 0")
			}
		case "points":
			if c.Limit <= 0 || len(c.Steps) == 0 {
				return bad("points need a limit and steps")
			}
			sort.Slice(c.Steps, func(i, j int) bool { return c.Steps[i].Min > c.Steps[j].Min })
		default:
			return bad("kind must be score or points")
		}
		ids := map[string]bool{}
		for _, r := range c.Rules {
			if r.ID == "" || ids[r.ID] || r.Event == "" {
				return bad("rule " + r.ID + ": needs a unique id and an event")
			}
			ids[r.ID] = true
			if r.AmountPoints != 0 && r.PerAmount <= 0 {
				return bad("rule " + r.ID + ": amount_points needs per_amount")
			}
			if c.Kind == "points" && (r.Points < 0 || r.AmountPoints < 0 || r.PerDay < 0) {
				return bad("rule " + r.ID + ": personnel points are not negative")
			}
			if r.Cap != 0 && (r.Cap > 0) != (r.Points+r.AmountPoints+r.PerDay > 0) {
				return bad("rule " + r.ID + ": cap has the wrong sign")
			}
		}
		m.Classes[name] = c
	}
	return nil
}
