package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ybfed/ybfed/federation/route"
	"github.com/ybfed/ybfed/internal/fen"
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
