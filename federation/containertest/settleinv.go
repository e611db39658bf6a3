package containertest

import (
	"context"
	"fmt"
	"sort"

	"github.com/ybfed/ybfed/federation/route"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/subsystems/settlement"
	"github.com/ybfed/ybfed/subsystems/settlement/service"
)

// SettlementState reads a province node's settlement books.
func (f *Federation) SettlementState(ctx context.Context, n *Node) (*service.State, error) {
	var st service.State
	return &st, f.GetJSON(ctx, n, service.PathAdminState, &st)
}

// HubState reads the national hub's clearing journal.
func (f *Federation) HubState(ctx context.Context) (*route.HubState, error) {
	var st route.HubState
	return &st, f.GetJSON(ctx, f.National, route.PathHubState, &st)
}

func province(code string) string { return settlement.Province(code) }

// checkSettlement: read from every node's admin API, every
// cross-province settlement is in force on the treatment node, the hub and
// the insured node with the same amounts, or on none; no transaction or
// reversal is still in flight; every node's ledger balances to the fen
// (each posting sums to zero, paying accounts equal the settlements in
// force), receivables and payables equal the hub's journal per province
// pair; accumulators equal the settled sums; and the hub's clearing items
// reconcile with each province's (the monthly statements agree on both
// sides).
func checkSettlement(ctx context.Context, f *Federation, nodes []*Node) error {
	if len(nodes) != len(f.Nodes()) {
		// Books are compared across all three sides only.
		return fmt.Errorf("%w: settlement books are compared only when every node is up and connected", ErrNotServed)
	}
	hub, err := f.HubState(ctx)
	if err != nil {
		return err
	}
	var errs []error
	if hub.Pending > 0 {
		errs = append(errs, fmt.Errorf("hub: %d transactions or reversals in flight", hub.Pending))
	}
	hubPair := map[[2]string]fen.Fen{}
	byProv := map[string][]settlement.ClearingItem{}
	for _, it := range hub.Items {
		t, i := province(it.MdtrtareaAdmdvs), province(it.InsuplcAdmdvs)
		hubPair[[2]string{t, i}] += it.Amount()
		byProv[t] = append(byProv[t], it)
		byProv[i] = append(byProv[i], it)
	}
	for _, n := range f.Provinces {
		st, err := f.SettlementState(ctx, n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st.Ledger != "ok" {
			errs = append(errs, fmt.Errorf("%s ledger: %s", n.Admdvs, st.Ledger))
		}
		if st.Accumulators != "ok" {
			errs = append(errs, fmt.Errorf("%s accumulators: %s", n.Admdvs, st.Accumulators))
		}
		if st.Pending > 0 {
			errs = append(errs, fmt.Errorf("%s: %d routed transactions or reversals in flight", n.Admdvs, st.Pending))
		}
		if ms := settlement.Reconcile(byProv[n.Admdvs], st.Routed); len(ms) > 0 {
			sort.Slice(ms, func(i, j int) bool { return ms[i].Msgid < ms[j].Msgid })
			errs = append(errs, fmt.Errorf("%s: %d settlements on one side only or differing (first: %s %s)", n.Admdvs, len(ms), ms[0].Msgid, ms[0].Kind))
		}
		// Receivable from / payable to each other province = hub journal.
		for _, o := range f.Provinces {
			if o == n {
				continue
			}
			recv := st.Balances[service.AccountRecv+o.Admdvs]
			payb := -st.Balances[service.AccountPayable+o.Admdvs]
			if h := hubPair[[2]string{n.Admdvs, o.Admdvs}]; recv != h {
				errs = append(errs, fmt.Errorf("%s receivable from %s %s, hub journal %s", n.Admdvs, o.Admdvs, recv, h))
			}
			if h := hubPair[[2]string{o.Admdvs, n.Admdvs}]; payb != h {
				errs = append(errs, fmt.Errorf("%s payable to %s %s, hub journal %s", n.Admdvs, o.Admdvs, payb, h))
			}
		}
	}
	return notServedIfAll(errs, len(f.Provinces)+1)
}
