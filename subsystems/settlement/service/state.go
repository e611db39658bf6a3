package service

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// State is GET /v1/settlement/state: what an operator (or a federation
// test) needs to check the node's settlement books from outside.
type State struct {
	Admdvs string `json:"admdvs"`
	// Ledger is "ok" or what CheckLedger found.
	Ledger string `json:"ledger"`
	// Accumulators is "ok" or what CheckAccumulators found.
	Accumulators string `json:"accumulators"`
	// Balances of every ledger account, in fen.
	Balances map[string]fen.Fen `json:"balances"`
	// Settled counts settlements in force by role (local, treatment, insured).
	Settled map[string]int `json:"settled"`
	// Routed are the cross-province settlements in force on this node (as
	// treatment and as insured place), as clearing items.
	Routed []settlement.ClearingItem `json:"routed"`
	// Pending counts routed transactions whose outcome or reversal is not
	// yet delivered (outbox pending or reversing).
	Pending int `json:"pending"`
}

// CheckAccumulators verifies that every person's accumulators count the
// settlements in force on this node (local and as insured place) and sum
// their fund and account payments.
func (s *Service) CheckAccumulators(ctx context.Context) error {
	type sums struct {
		n          int
		fund, acct int64
	}
	want := map[[2]string]sums{}
	rows, err := s.db.Query(ctx, `SELECT psn_no, insutype, COUNT(*), COALESCE(SUM(fund_pay), 0), COALESCE(SUM(acct_pay), 0)
		FROM stl_setl WHERE role <> ? AND status = ? GROUP BY psn_no, insutype`, roleTreatment, setlSettled)
	if err != nil {
		return fmt.Errorf("check accumulators: %w", err)
	}
	for rows.Next() {
		var k [2]string
		var v sums
		if err := rows.Scan(&k[0], &k[1], &v.n, &v.fund, &v.acct); err != nil {
			rows.Close()
			return fmt.Errorf("check accumulators: %w", err)
		}
		want[k] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("check accumulators: %w", err)
	}
	rows, err = s.db.Query(ctx, `SELECT psn_no, insutype FROM stl_accum`)
	if err != nil {
		return fmt.Errorf("check accumulators: %w", err)
	}
	for rows.Next() {
		var k [2]string
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			rows.Close()
			return fmt.Errorf("check accumulators: %w", err)
		}
		if _, ok := want[k]; !ok {
			want[k] = sums{}
		}
	}
	rows.Close()
	var bad []string
	for k, w := range want {
		acc, err := s.Accumulators(ctx, k[0], k[1])
		if err != nil {
			return fmt.Errorf("check accumulators: %w", err)
		}
		if acc.SettlementCount != w.n || acc.FundPaySumamt != fen.Fen(w.fund) || acc.AcctPaySumamt != fen.Fen(w.acct) {
			bad = append(bad, fmt.Sprintf("%s/%s: accumulators count %d fund %s account %s, settlements in force %d / %s / %s",
				k[0], k[1], acc.SettlementCount, acc.FundPaySumamt, acc.AcctPaySumamt, w.n, fen.Fen(w.fund), fen.Fen(w.acct)))
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("check accumulators: %s", strings.Join(bad, "; "))
	}
	return nil
}

// State reads the node's settlement books (see State).
func (s *Service) State(ctx context.Context) (*State, error) {
	st := &State{Admdvs: s.admdvs, Ledger: "ok", Accumulators: "ok", Settled: map[string]int{}}
	if err := s.CheckLedger(ctx); err != nil {
		st.Ledger = err.Error()
	}
	if err := s.CheckAccumulators(ctx); err != nil {
		st.Accumulators = err.Error()
	}
	var err error
	if st.Balances, err = s.Balances(ctx); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT role, COUNT(*) FROM stl_setl WHERE status = ? GROUP BY role`, setlSettled)
	if err != nil {
		return nil, fmt.Errorf("settlement state: %w", err)
	}
	for rows.Next() {
		var r string
		var n int
		if err := rows.Scan(&r, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("settlement state: %w", err)
		}
		st.Settled[r] = n
	}
	rows.Close()
	if st.Routed, err = s.ClearingItems(ctx, ""); err != nil {
		return nil, err
	}
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM stl_route WHERE status IN (?, ?)`, routePending, routeReversing).Scan(&st.Pending); err != nil {
		return nil, fmt.Errorf("settlement state: %w", err)
	}
	return st, nil
}

func (s *Service) adminState(w http.ResponseWriter, r *http.Request) {
	st, err := s.State(r.Context())
	if err != nil {
		s.log.Error("settlement state", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st)
}

func (s *Service) adminPerson(w http.ResponseWriter, r *http.Request) {
	var p settlement.Person
	if !decodeBody(w, r, &p) {
		return
	}
	if err := s.PutPerson(r.Context(), &p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.log.Info("insured person registered", "psn_no", p.BaseInfo.PsnNo)
	w.WriteHeader(http.StatusNoContent)
}
