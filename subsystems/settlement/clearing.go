package settlement

import (
	"sort"

	"github.com/ybfed/ybfed/internal/fen"
)

// ClearingItem is one settled cross-province transaction in the hub's
// clearing journal. A reversal (2208/2305/2601) is an item of its own with
// negative amounts.
type ClearingItem struct {
	Msgid           string  `json:"msgid"` // unique per item
	SetlID          string  `json:"setl_id"`
	Month           string  `json:"month"`            // yyyy-MM of the settlement
	MdtrtareaAdmdvs string  `json:"mdtrtarea_admdvs"` // treatment place: is paid
	InsuplcAdmdvs   string  `json:"insuplc_admdvs"`   // insured place: pays
	FundPay         fen.Fen `json:"fund_pay_sumamt"`
	AcctPay         fen.Fen `json:"acct_pay"`
}

// Amount is what the insured place owes for the item: fund plus account
// payments (DOMAIN.md §6).
func (c *ClearingItem) Amount() fen.Fen { return c.FundPay + c.AcctPay }

// Prepaid is the prepaid fund (预付金) the Payer (insured) province holds
// deposited with the Payee (treatment) province.
type Prepaid struct {
	Payer  string  `json:"payer"`
	Payee  string  `json:"payee"`
	Amount fen.Fen `json:"amount"`
}

// ClearingOptions tune Clear.
type ClearingOptions struct {
	// TopUpThreshold flags a deposit for early top-up when a month draws
	// more than this share of it (e.g. 0.7000).
	TopUpThreshold fen.Ratio
	// Province maps an admdvs to its province; nil uses Province (code[:2]+"0000").
	Province func(admdvs string) string
}

// PairPosition is what one insured province owes one treatment province
// for the month, and how the prepaid deposit covers it.
type PairPosition struct {
	Payer       string  `json:"payer"` // insured province
	Payee       string  `json:"payee"` // treatment province
	Count       int     `json:"count"`
	FundPay     fen.Fen `json:"fund_pay_sumamt"`
	AcctPay     fen.Fen `json:"acct_pay"`
	Gross       fen.Fen `json:"gross"`        // FundPay + AcctPay
	Prepaid     fen.Fen `json:"prepaid"`      // deposit before clearing
	Drawn       fen.Fen `json:"drawn"`        // taken from the deposit: clamp(Gross, 0, Prepaid)
	Due         fen.Fen `json:"due"`          // still owed in cash: Gross − Drawn
	PrepaidLeft fen.Fen `json:"prepaid_left"` // Prepaid − Drawn
	TopUp       bool    `json:"top_up"`       // Drawn above the threshold share of Prepaid
}

// Transfer is the single cash movement between two provinces after the
// dues in both directions are netted.
type Transfer struct {
	From   string  `json:"from"`
	To     string  `json:"to"`
	Amount fen.Fen `json:"amount"`
}

// ProvincePosition sums a province's side of the month.
type ProvincePosition struct {
	Province   string  `json:"province"`
	Receivable fen.Fen `json:"receivable"` // Σ Gross as treatment place
	Payable    fen.Fen `json:"payable"`    // Σ Gross as insured place
	Net        fen.Fen `json:"net"`        // Receivable − Payable
	CashIn     fen.Fen `json:"cash_in"`    // Σ Due as treatment place
	CashOut    fen.Fen `json:"cash_out"`   // Σ Due as insured place
	NetCash    fen.Fen `json:"net_cash"`   // CashIn − CashOut
}

// Statement is the monthly clearing of cross-province settlements.
type Statement struct {
	Month     string             `json:"month"`
	Items     int                `json:"items"`   // items cleared
	Skipped   int                `json:"skipped"` // other months or intra-province
	Pairs     []PairPosition     `json:"pairs"`
	Transfers []Transfer         `json:"transfers"`
	Provinces []ProvincePosition `json:"provinces"`
}

// Clear computes the clearing of month (yyyy-MM): gross positions per pair
// (insured province → treatment province), the prepaid deposit drawn for
// each, the bilateral cash transfer that remains, and each province's
// position. Σ Net = Σ NetCash = 0 over the provinces. Items of other
// months and intra-province items are skipped; a repeated msgid is
// ECONFLICT. The result is sorted and does not depend on item order.
func Clear(month string, items []ClearingItem, prepaid []Prepaid, opt ClearingOptions) (Statement, error) {
	if len(month) != 7 || checkDate("month", month+"-01", true) != nil {
		return Statement{}, fieldErr("month", "must be yyyy-MM")
	}
	prov := opt.Province
	if prov == nil {
		prov = Province
	}
	type pairKey struct{ payer, payee string }
	pairs := map[pairKey]*PairPosition{}
	seen := make(map[string]struct{}, len(items))
	st := Statement{Month: month}
	for i := range items {
		it := &items[i]
		path := idx("items", i)
		if err := first(checkAdmdvs(path+".mdtrtarea_admdvs", it.MdtrtareaAdmdvs, true), checkAdmdvs(path+".insuplc_admdvs", it.InsuplcAdmdvs, true)); err != nil {
			return Statement{}, err
		}
		if it.Msgid == "" {
			return Statement{}, fieldErr(path+".msgid", "required")
		}
		if _, dup := seen[it.Msgid]; dup {
			return Statement{}, Errorf(ECONFLICT, "%s.msgid: %s appears twice in the journal", path, it.Msgid)
		}
		seen[it.Msgid] = struct{}{}
		payer, payee := prov(it.InsuplcAdmdvs), prov(it.MdtrtareaAdmdvs)
		if it.Month != month || payer == payee {
			st.Skipped++
			continue
		}
		k := pairKey{payer, payee}
		p := pairs[k]
		if p == nil {
			p = &PairPosition{Payer: payer, Payee: payee}
			pairs[k] = p
		}
		p.Count++
		p.FundPay += it.FundPay
		p.AcctPay += it.AcctPay
		st.Items++
	}
	for _, d := range prepaid {
		if d.Amount < 0 {
			return Statement{}, Errorf(EINVALID, "prepaid %s→%s: negative amount", d.Payer, d.Payee)
		}
		k := pairKey{prov(d.Payer), prov(d.Payee)}
		p := pairs[k]
		if p == nil {
			p = &PairPosition{Payer: k.payer, Payee: k.payee}
			pairs[k] = p
		}
		p.Prepaid += d.Amount
	}

	st.Pairs = make([]PairPosition, 0, len(pairs))
	positions := map[string]*ProvincePosition{}
	pos := func(code string) *ProvincePosition {
		pp := positions[code]
		if pp == nil {
			pp = &ProvincePosition{Province: code}
			positions[code] = pp
		}
		return pp
	}
	for _, p := range pairs {
		p.Gross = p.FundPay + p.AcctPay
		p.Drawn = min(max(p.Gross, 0), p.Prepaid)
		p.Due = p.Gross - p.Drawn
		p.PrepaidLeft = p.Prepaid - p.Drawn
		if opt.TopUpThreshold > 0 && p.Prepaid > 0 && p.Drawn > p.Prepaid.MulRatio(opt.TopUpThreshold) {
			p.TopUp = true
		}
		st.Pairs = append(st.Pairs, *p)
		payer, payee := pos(p.Payer), pos(p.Payee)
		payer.Payable += p.Gross
		payer.CashOut += p.Due
		payee.Receivable += p.Gross
		payee.CashIn += p.Due
	}
	sort.Slice(st.Pairs, func(i, j int) bool {
		a, b := &st.Pairs[i], &st.Pairs[j]
		if a.Payer != b.Payer {
			return a.Payer < b.Payer
		}
		return a.Payee < b.Payee
	})
	for _, p := range st.Pairs {
		if p.Payer > p.Payee {
			if _, back := pairs[pairKey{p.Payee, p.Payer}]; back {
				continue // netted when the smaller code is the payer
			}
		}
		net := p.Due
		if q, ok := pairs[pairKey{p.Payee, p.Payer}]; ok {
			net -= q.Due
		}
		switch {
		case net > 0:
			st.Transfers = append(st.Transfers, Transfer{From: p.Payer, To: p.Payee, Amount: net})
		case net < 0:
			st.Transfers = append(st.Transfers, Transfer{From: p.Payee, To: p.Payer, Amount: -net})
		}
	}
	st.Provinces = make([]ProvincePosition, 0, len(positions))
	for _, pp := range positions {
		pp.Net = pp.Receivable - pp.Payable
		pp.NetCash = pp.CashIn - pp.CashOut
		st.Provinces = append(st.Provinces, *pp)
	}
	sort.Slice(st.Provinces, func(i, j int) bool { return st.Provinces[i].Province < st.Provinces[j].Province })
	return st, st.check()
}

// check verifies that money is conserved; a failure is a bug.
func (s *Statement) check() error {
	var net, cash, transfers fen.Fen
	for _, p := range s.Provinces {
		net += p.Net
		cash += p.NetCash
	}
	for _, t := range s.Transfers {
		transfers += t.Amount
	}
	if net != 0 || cash != 0 {
		return Errorf(EINTERNAL, "clearing %s: net positions sum to %v, cash to %v", s.Month, net, cash)
	}
	for _, p := range s.Pairs {
		if p.Drawn+p.Due != p.Gross || p.PrepaidLeft < 0 {
			return Errorf(EINTERNAL, "clearing %s: pair %s→%s does not balance", s.Month, p.Payer, p.Payee)
		}
	}
	return nil
}

// ProvinceStatement is the part of a Statement one province signs and
// checks against its own ledger.
type ProvinceStatement struct {
	Month     string           `json:"month"`
	Position  ProvincePosition `json:"position"`
	Pairs     []PairPosition   `json:"pairs"`
	Transfers []Transfer       `json:"transfers"`
}

// For returns the statement of one province.
func (s *Statement) For(province string) ProvinceStatement {
	ps := ProvinceStatement{Month: s.Month, Position: ProvincePosition{Province: province}}
	for _, p := range s.Provinces {
		if p.Province == province {
			ps.Position = p
		}
	}
	for _, p := range s.Pairs {
		if p.Payer == province || p.Payee == province {
			ps.Pairs = append(ps.Pairs, p)
		}
	}
	for _, t := range s.Transfers {
		if t.From == province || t.To == province {
			ps.Transfers = append(ps.Transfers, t)
		}
	}
	return ps
}

// Mismatch kinds.
const (
	MissingLocal = "missing_local" // the hub has it, the province does not
	MissingHub   = "missing_hub"   // the province has it, the hub does not
	AmountDiffer = "amount_differs"
)

// Mismatch is one transaction on which the hub and a province disagree.
type Mismatch struct {
	Msgid string        `json:"msgid"`
	Kind  string        `json:"kind"`
	Hub   *ClearingItem `json:"hub,omitempty"`
	Local *ClearingItem `json:"local,omitempty"`
}

// Reconcile compares the hub's items with a province's own, by msgid,
// and lists every disagreement in msgid order: missing on either side, or
// different admdvs, month or amounts.
func Reconcile(hub, local []ClearingItem) []Mismatch {
	h := make(map[string]*ClearingItem, len(hub))
	for i := range hub {
		h[hub[i].Msgid] = &hub[i]
	}
	var out []Mismatch
	l := make(map[string]bool, len(local))
	for i := range local {
		li := &local[i]
		l[li.Msgid] = true
		hi, ok := h[li.Msgid]
		switch {
		case !ok:
			out = append(out, Mismatch{Msgid: li.Msgid, Kind: MissingHub, Local: li})
		case *hi != *li:
			out = append(out, Mismatch{Msgid: li.Msgid, Kind: AmountDiffer, Hub: hi, Local: li})
		}
	}
	for i := range hub {
		if !l[hub[i].Msgid] {
			out = append(out, Mismatch{Msgid: hub[i].Msgid, Kind: MissingLocal, Hub: &hub[i]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Msgid < out[j].Msgid })
	return out
}
