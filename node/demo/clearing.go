package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ybfed/ybfed/federation/route"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/console"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// ClearingReport is one monthly clearing run of the demo's national hub,
// checked against every province.
type ClearingReport struct {
	Month string
	Run   *route.ClearingRun
	// Took is how long the hub's clearing took.
	Took time.Duration
	// Invalid lists provinces whose signed statement did not verify.
	Invalid map[string]error
	// Mismatches lists, per province, the transactions on which the
	// province's own records disagree with its statement.
	Mismatches map[string][]settlement.Mismatch
}

// Month is the clearing month (yyyy-MM) of t in China Standard Time.
func Month(t time.Time) string { return t.In(cst).Format("2006-01") }

// Clear runs the monthly clearing of month on the national hub, verifies
// each province's signed statement with the federation CA and reconciles
// its items with the province's own records. Settlements still in flight
// show up as mismatches: stop the traffic first for an exact check.
func (f *Federation) Clear(ctx context.Context, month string) (*ClearingReport, error) {
	sc := f.Nodes[0].Parts().Settlement
	if sc == nil || sc.Hub() == nil {
		return nil, errors.New("demo: clearing: the national node runs no settlement hub")
	}
	start := time.Now()
	run, err := sc.Hub().Clear(ctx, month, nil)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	rep := &ClearingReport{Month: month, Run: run, Took: time.Since(start), Invalid: map[string]error{}, Mismatches: map[string][]settlement.Mismatch{}}
	for _, n := range f.Nodes[1:] {
		prov := n.Config().Node.Admdvs
		env, ok := run.Statements[prov]
		if !ok {
			continue // no cross-province settlement this month
		}
		st, err := route.VerifyStatement(f.CA.Certificate(), env)
		if err != nil {
			rep.Invalid[prov] = err
			continue
		}
		svc := n.Parts().Settlement.Service()
		if svc == nil {
			rep.Invalid[prov] = errors.New("settlement service not running")
			continue
		}
		local, err := svc.ClearingItems(ctx, month)
		if err != nil {
			return nil, fmt.Errorf("demo: clearing %s: %w", prov, err)
		}
		if mm := settlement.Reconcile(st.Items, local); len(mm) > 0 {
			rep.Mismatches[prov] = mm
		}
	}
	return rep, nil
}

// NetSum returns Σ Net and Σ NetCash over the provinces; both are zero in
// a correct clearing.
func (r *ClearingReport) NetSum() (net, cash fen.Fen) {
	for _, p := range r.Run.Statement.Provinces {
		net += p.Net
		cash += p.NetCash
	}
	return net, cash
}

// Write prints the clearing: a summary line, then each province's net
// position (receivable − payable, in yuan), several to a line.
func (r *ClearingReport) Write(w io.Writer) {
	st := r.Run.Statement
	mism := 0
	for _, m := range r.Mismatches {
		mism += len(m)
	}
	net, cash := r.NetSum()
	fmt.Fprintf(w, "clearing %s: %d cross-province items, %d pairs, %d statements signed (%d invalid), %d mismatched items, Σ net %s, Σ cash %s, in %s\n",
		r.Month, st.Items, len(st.Pairs), len(r.Run.Statements), len(r.Invalid), mism, net, cash, r.Took.Round(time.Millisecond))
	var line []string
	for _, p := range st.Provinces {
		sign := ""
		if p.Net > 0 {
			sign = "+"
		}
		line = append(line, fmt.Sprintf("%s %12s", p.Province, sign+p.Net.String()))
		if len(line) == 4 {
			fmt.Fprintf(w, "  %s\n", strings.Join(line, "   "))
			line = line[:0]
		}
	}
	if len(line) > 0 {
		fmt.Fprintf(w, "  %s\n", strings.Join(line, "   "))
	}
}

// ClearingBoard keeps the latest clearing report of each month for the
// operator console's clearing page.
type ClearingBoard struct {
	mu     sync.Mutex
	months map[string]*ClearingReport
}

var _ console.Clearing = (*ClearingBoard)(nil)

// NewClearingBoard returns an empty board.
func NewClearingBoard() *ClearingBoard { return &ClearingBoard{months: map[string]*ClearingReport{}} }

// Record keeps r as the latest run of its month.
func (b *ClearingBoard) Record(r *ClearingReport) {
	b.mu.Lock()
	b.months[r.Month] = r
	b.mu.Unlock()
}

// Clearing returns every province's statement of every recorded month.
func (b *ClearingBoard) Clearing(context.Context) ([]console.Statement, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []console.Statement
	for month, r := range b.months {
		for _, p := range r.Run.Statement.Provinces {
			s := console.Statement{Month: month, Admdvs: p.Province, Receivable: int64(p.Receivable), Payable: int64(p.Payable),
				Net: int64(p.Net), Status: "confirmed"}
			if err := r.Invalid[p.Province]; err != nil {
				s.Status, s.Mismatch = "disputed", err.Error()
			} else if mm := r.Mismatches[p.Province]; len(mm) > 0 {
				s.Status = "disputed"
				s.Mismatch = fmt.Sprintf("%d transactions differ, first %s (%s)", len(mm), mm[0].Msgid, mm[0].Kind)
			}
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Month != out[j].Month {
			return out[i].Month > out[j].Month
		}
		return out[i].Admdvs < out[j].Admdvs
	})
	return out, nil
}
