package credit

import (
	"fmt"
	"sort"
)

// Line explains one event's part in a score.
type Line struct {
	EventID  string `json:"event_id"`
	Date     string `json:"date"`
	RuleID   string `json:"rule_id,omitempty"`
	Text     string `json:"text"`
	Points   int    `json:"points"`           // applied, after the cap
	Capped   bool   `json:"capped,omitempty"` // the rule's cap cut this event's points
	Running  int    `json:"running"`          // score (or accumulated points) after the event
	Evidence string `json:"evidence"`
}

// Evaluation is a subject's score at the end of a period.
type Evaluation struct {
	Period       string `json:"period"`
	SubjectType  string `json:"subject_type"`
	SubjectCode  string `json:"subject_code"`
	ModelVersion string `json:"model_version"`
	// Score is the institution's or unit's score, or the personnel's
	// remaining points (limit − accumulated, not below 0).
	Score int `json:"score"`
	// Grade is the institution's or unit's grade.
	Grade string `json:"grade,omitempty"`
	// Points is the personnel's accumulated points this year; Status the
	// step reached ("normal" below the first).
	Points      int    `json:"points,omitempty"`
	Status      string `json:"status,omitempty"`
	Explanation []Line `json:"explanation"`
}

// StatusNormal is the personnel status below every step.
const StatusNormal = "normal"

// Evaluate scores one subject for a period (YYYY-MM) from its events: the
// events of the period's calendar year up to the period's end count, in
// date then id order. Events of other subjects are an error.
func Evaluate(m *Model, period, subjectType, subjectCode string, events []Event) (*Evaluation, error) {
	class, ok := classOf(subjectType)
	if !ok {
		return nil, fmt.Errorf("credit: subject type %q", subjectType)
	}
	from, to, err := yearToDate(period)
	if err != nil {
		return nil, err
	}
	c := m.Classes[class]
	ev := &Evaluation{Period: period, SubjectType: subjectType, SubjectCode: subjectCode, ModelVersion: m.Version, Explanation: []Line{}}
	in := make([]Event, 0, len(events))
	for _, e := range events {
		if e.SubjectType != subjectType || e.SubjectCode != subjectCode {
			return nil, fmt.Errorf("credit: event %s is about %s %s", e.ID, e.SubjectType, e.SubjectCode)
		}
		if int(e.Date) >= from && int(e.Date) <= to {
			in = append(in, e)
		}
	}
	sort.Slice(in, func(i, j int) bool {
		if in[i].Date != in[j].Date {
			return in[i].Date < in[j].Date
		}
		return in[i].ID < in[j].ID
	})
	running := 0
	if c.Kind == "score" {
		running = c.Base
	}
	used := map[string]int{} // per rule, applied so far
	for _, e := range in {
		r := match(&c, &e)
		line := Line{EventID: e.ID, Date: e.Date.String(), Evidence: e.Evidence, Text: e.Kind}
		if r != nil {
			pts := r.Points + r.PerDay*e.Days
			if r.PerAmount > 0 {
				pts += r.AmountPoints * int(e.Amount/r.PerAmount)
			}
			if r.Cap != 0 {
				room := r.Cap - used[r.ID]
				if r.Cap > 0 && pts > room || r.Cap < 0 && pts < room {
					pts, line.Capped = room, true
				}
			}
			used[r.ID] += pts
			line.RuleID, line.Text, line.Points = r.ID, r.Text, pts
			running += pts
		}
		line.Running = running
		ev.Explanation = append(ev.Explanation, line)
	}
	switch c.Kind {
	case "score":
		ev.Score = min(max(running, 0), c.Max)
		for _, g := range c.Grades {
			if ev.Score >= g.Min {
				ev.Grade = g.Grade
				break
			}
		}
	case "points":
		ev.Points = running
		ev.Score = max(c.Limit-running, 0)
		ev.Status = StatusNormal
		for _, s := range c.Steps {
			if running >= s.Min {
				ev.Status = s.Status
				break
			}
		}
	}
	return ev, nil
}

// match finds the first rule of c scoring e.
func match(c *Class, e *Event) *Rule {
	for i := range c.Rules {
		r := &c.Rules[i]
		if r.Event == e.Kind && (r.Severity == "" || r.Severity == e.Severity) {
			return r
		}
	}
	return nil
}

// yearToDate returns the first day of the period's year and the last day
// of the period as yyyymmdd.
func yearToDate(period string) (int, int, error) {
	var y, m int
	if len(period) != 7 || period[4] != '-' {
		return 0, 0, fmt.Errorf("credit: period %q is not YYYY-MM", period)
	}
	if _, err := fmt.Sscanf(period, "%4d-%2d", &y, &m); err != nil || m < 1 || m > 12 || y < 1900 {
		return 0, 0, fmt.Errorf("credit: period %q is not YYYY-MM", period)
	}
	return y*10000 + 101, y*10000 + m*100 + 31, nil
}
