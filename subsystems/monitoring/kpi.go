package monitoring

import (
	"context"
	"fmt"
	"time"

	"github.com/ybfed/ybfed/node/store"
)

// ScopeNational names the national aggregate.
const ScopeNational = "national"

// KPIs are one scope's indicators on one day. A value of -1 means it
// cannot be computed (no data or a zero denominator).
type KPIs struct {
	Scope             string `json:"scope"`
	Date              string `json:"date"`
	Reported          bool   `json:"reported"`
	SettleCount       int64  `json:"settle_count"`
	SettleAmount      int64  `json:"settle_amount"`       // fen
	DirectRateBP      int64  `json:"direct_rate_bp"`      // directly settled cross-province visits, basis points
	BalanceMonthsX100 int64  `json:"balance_months_x100"` // fund balance over the last 30 days' expense, hundredths of months
	RespP95MS         int64  `json:"resp_p95_ms"`         // worst province for the national scope
	Enrolled          int64  `json:"enrolled"`
	VolumeVsWeekBP    int64  `json:"volume_vs_week_bp"` // settlements against the previous 7 days' mean, basis points
}

// KPI names for thresholds.
const (
	KPIDirectRate    = "direct_rate_bp"
	KPIBalanceMonths = "balance_months_x100"
	KPIRespP95       = "resp_p95_ms"
	KPIVolumeVsWeek  = "volume_vs_week_bp"
	KPIReported      = "reported"
)

func (k KPIs) value(name string) int64 {
	switch name {
	case KPIDirectRate:
		return k.DirectRateBP
	case KPIBalanceMonths:
		return k.BalanceMonthsX100
	case KPIRespP95:
		return k.RespP95MS
	case KPIVolumeVsWeek:
		return k.VolumeVsWeekBP
	}
	return -1
}

func addDays(d string, n int) string {
	t, _ := time.Parse("2006-01-02", d)
	return t.AddDate(0, 0, n).Format("2006-01-02")
}

// Compute returns the KPIs of every province that reported in the 7 days
// up to date, and the national aggregate first.
func (s *Service) Compute(ctx context.Context, date string) ([]KPIs, error) {
	if err := checkDate("date", date); err != nil {
		return nil, err
	}
	data, err := s.samples(ctx, addDays(date, -29), date)
	if err != nil {
		return nil, err
	}
	provinces := map[string]bool{}
	for d := -6; d <= 0; d++ {
		for p := range data[addDays(date, d)] {
			provinces[p] = true
		}
	}
	sum := func(p, metric string, from, to int) (total int64, days int) {
		for d := from; d <= to; d++ {
			if v, ok := data[addDays(date, d)][p][metric]; ok {
				total += v
				days++
			}
		}
		return total, days
	}
	nat := KPIs{Scope: ScopeNational, Date: date}
	var natX, natDirect, natBal, natExp30, natWeek int64
	natWeekDays := 0
	out := []KPIs{}
	for _, p := range sortedKeys(provinces) {
		today := data[date][p]
		k := KPIs{Scope: p, Date: date, Reported: today != nil, DirectRateBP: -1, BalanceMonthsX100: -1, VolumeVsWeekBP: -1}
		k.SettleCount, k.SettleAmount = today[MetricSettleCount], today[MetricSettleFen]
		k.RespP95MS, k.Enrolled = today[MetricRespP95], today[MetricEnrolled]
		if x := today[MetricXprovCount]; x > 0 {
			k.DirectRateBP = today[MetricXprovDirect] * 10000 / x
		}
		exp30, _ := sum(p, MetricFundExpense, -29, 0)
		if bal, ok := today[MetricFundBalance]; ok && exp30 > 0 {
			k.BalanceMonthsX100 = bal * 100 / exp30
		}
		week, days := sum(p, MetricSettleCount, -7, -1)
		if days > 0 && week > 0 && today != nil {
			k.VolumeVsWeekBP = k.SettleCount * 10000 * int64(days) / week
		}
		if today != nil {
			nat.Reported = true
			nat.SettleCount += k.SettleCount
			nat.SettleAmount += k.SettleAmount
			nat.Enrolled += k.Enrolled
			nat.RespP95MS = max(nat.RespP95MS, k.RespP95MS)
			natX += today[MetricXprovCount]
			natDirect += today[MetricXprovDirect]
			if bal, ok := today[MetricFundBalance]; ok {
				natBal += bal
				natExp30 += exp30
			}
			if days > 0 {
				natWeek += week * 7 / int64(days)
				natWeekDays = 7
			}
		}
		out = append(out, k)
	}
	nat.DirectRateBP, nat.BalanceMonthsX100, nat.VolumeVsWeekBP = -1, -1, -1
	if natX > 0 {
		nat.DirectRateBP = natDirect * 10000 / natX
	}
	if natExp30 > 0 {
		nat.BalanceMonthsX100 = natBal * 100 / natExp30
	}
	if natWeekDays > 0 && natWeek > 0 {
		nat.VolumeVsWeekBP = nat.SettleCount * 10000 * 7 / natWeek
	}
	return append([]KPIs{nat}, out...), nil
}

// Threshold raises an alert when a KPI is below (Below) or above a value.
type Threshold struct {
	KPI      string `json:"kpi"`
	Below    bool   `json:"below"`
	Value    int64  `json:"value"`
	Severity string `json:"severity"` // warn, high
}

// DefaultThresholds are the thresholds used unless replaced.
func DefaultThresholds() []Threshold {
	return []Threshold{
		{KPI: KPIDirectRate, Below: true, Value: 7000, Severity: "warn"},
		{KPI: KPIBalanceMonths, Below: true, Value: 600, Severity: "warn"},
		{KPI: KPIBalanceMonths, Below: true, Value: 300, Severity: "high"},
		{KPI: KPIRespP95, Value: 2000, Severity: "warn"},
		{KPI: KPIVolumeVsWeek, Below: true, Value: 5000, Severity: "warn"},
	}
}

// SetThresholds replaces the thresholds.
func (s *Service) SetThresholds(ts []Threshold) error {
	for i, t := range ts {
		if t.KPI != KPIDirectRate && t.KPI != KPIBalanceMonths && t.KPI != KPIRespP95 && t.KPI != KPIVolumeVsWeek {
			return bad(fmt.Sprintf("thresholds[%d].kpi", i), "unknown KPI %q", t.KPI)
		}
		if t.Severity != "warn" && t.Severity != "high" {
			return bad(fmt.Sprintf("thresholds[%d].severity", i), "want warn or high")
		}
	}
	cp := append([]Threshold(nil), ts...)
	s.thresholds.Store(&cp)
	return nil
}

// Alert is a KPI past its threshold, or a province that did not report.
type Alert struct {
	ID        string `json:"id"`
	Date      string `json:"date"`
	Scope     string `json:"scope"`
	KPI       string `json:"kpi"`
	Value     int64  `json:"value"`
	Threshold int64  `json:"threshold"`
	Severity  string `json:"severity"`
	Message   string `json:"message"`
}

// Evaluate computes the day's KPIs, applies the thresholds (the most
// severe firing threshold per KPI and scope) and stores the day's alerts,
// replacing an earlier evaluation of the day.
func (s *Service) Evaluate(ctx context.Context, date string) ([]Alert, error) {
	ks, err := s.Compute(ctx, date)
	if err != nil {
		return nil, err
	}
	ths := *s.thresholds.Load()
	var alerts []Alert
	for _, k := range ks {
		if !k.Reported {
			if k.Scope != ScopeNational {
				alerts = append(alerts, Alert{ID: date + ":" + k.Scope + ":" + KPIReported, Date: date, Scope: k.Scope, KPI: KPIReported,
					Severity: "high", Message: k.Scope + " reported nothing for " + date})
			}
			continue
		}
		fired := map[string]Alert{}
		for _, t := range ths {
			v := k.value(t.KPI)
			if v < 0 || (t.Below && v >= t.Value) || (!t.Below && v <= t.Value) {
				continue
			}
			if prev, ok := fired[t.KPI]; ok && prev.Severity == "high" {
				continue
			}
			dir := "above"
			if t.Below {
				dir = "below"
			}
			fired[t.KPI] = Alert{ID: date + ":" + k.Scope + ":" + t.KPI, Date: date, Scope: k.Scope, KPI: t.KPI, Value: v, Threshold: t.Value,
				Severity: t.Severity, Message: fmt.Sprintf("%s %s is %d, %s %d", k.Scope, t.KPI, v, dir, t.Value)}
		}
		for _, name := range sortedKeys(fired) {
			alerts = append(alerts, fired[name])
		}
	}
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM mo_alert WHERE date = ?`, date); err != nil {
			return err
		}
		for _, a := range alerts {
			if _, err := tx.Exec(ctx, `INSERT INTO mo_alert (id, date, scope, kpi, value, threshold, severity, message) VALUES (?,?,?,?,?,?,?,?)`,
				a.ID, a.Date, a.Scope, a.KPI, a.Value, a.Threshold, a.Severity, a.Message); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("monitoring: store alerts: %w", err)
	}
	return alerts, nil
}

// Alerts returns the stored alerts of a day.
func (s *Service) Alerts(ctx context.Context, date string) ([]Alert, error) {
	if err := checkDate("date", date); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT id, date, scope, kpi, value, threshold, severity, message FROM mo_alert WHERE date = ? ORDER BY id`, date)
	if err != nil {
		return nil, fmt.Errorf("monitoring: alerts: %w", err)
	}
	defer rows.Close()
	out := []Alert{}
	for rows.Next() {
		var a Alert
		if err := rows.Scan(&a.ID, &a.Date, &a.Scope, &a.KPI, &a.Value, &a.Threshold, &a.Severity, &a.Message); err != nil {
			return nil, fmt.Errorf("monitoring: alerts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
