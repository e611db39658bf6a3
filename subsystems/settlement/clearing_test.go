package settlement_test

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

type clearingFixture struct {
	Month   string                    `json:"month"`
	Items   []settlement.ClearingItem `json:"items"`
	Prepaid []settlement.Prepaid      `json:"prepaid"`
	Want    json.RawMessage           `json:"want"`
}

func TestClearFixture(t *testing.T) {
	var f clearingFixture
	mustReadJSON(t, "clearing_2024-03.json", &f)
	st, err := settlement.Clear(f.Month, f.Items, f.Prepaid, settlement.ClearingOptions{TopUpThreshold: fen.MustParseRatio("70%")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffJSON(generic(t, f.Want), generic(t, got), "", nil) {
		t.Error(d)
	}
	// Each province's statement carries its own pairs and transfers.
	sh := st.For("310000")
	if len(sh.Pairs) != 1 || len(sh.Transfers) != 1 || sh.Position.Net != fen.MustParse("-300.00") {
		t.Errorf("statement for 310000 = %+v", sh)
	}
}

func TestClearErrors(t *testing.T) {
	item := settlement.ClearingItem{Msgid: "m1", Month: "2024-03", MdtrtareaAdmdvs: "110105", InsuplcAdmdvs: "440300", FundPay: 1}
	tests := []struct {
		name  string
		month string
		items []settlement.ClearingItem
		code  string
	}{
		{"bad month", "2024-13", nil, settlement.EINVALID},
		{"duplicate msgid", "2024-03", []settlement.ClearingItem{item, item}, settlement.ECONFLICT},
		{"bad admdvs", "2024-03", []settlement.ClearingItem{{Msgid: "m", Month: "2024-03", MdtrtareaAdmdvs: "1101", InsuplcAdmdvs: "440300"}}, settlement.EINVALID},
		{"missing msgid", "2024-03", []settlement.ClearingItem{{Month: "2024-03", MdtrtareaAdmdvs: "110105", InsuplcAdmdvs: "440300"}}, settlement.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := settlement.Clear(tt.month, tt.items, nil, settlement.ClearingOptions{}); settlement.ErrorCode(err) != tt.code {
				t.Fatalf("err = %v, want code %s", err, tt.code)
			}
		})
	}
}

// TestClearRandom checks conservation and order independence on random
// journals over many provinces.
func TestClearRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	provs := []string{"110000", "120000", "310000", "440000", "510000", "650000"}
	for round := 0; round < 20; round++ {
		var items []settlement.ClearingItem
		for i := 0; i < 500; i++ {
			a, b := provs[rng.IntN(len(provs))], provs[rng.IntN(len(provs))]
			amt := fen.Fen(rng.Int64N(1_000_000_00))
			if rng.IntN(10) == 0 {
				amt = -amt
			}
			items = append(items, settlement.ClearingItem{Msgid: strconv.Itoa(i), Month: "2024-03",
				MdtrtareaAdmdvs: a[:2] + "0101", InsuplcAdmdvs: b[:2] + "0102", FundPay: amt, AcctPay: amt / 7})
		}
		var prepaid []settlement.Prepaid
		for _, a := range provs {
			for _, b := range provs {
				if a != b && rng.IntN(2) == 0 {
					prepaid = append(prepaid, settlement.Prepaid{Payer: a, Payee: b, Amount: fen.Fen(rng.Int64N(50_000_000_00))})
				}
			}
		}
		st, err := settlement.Clear("2024-03", items, prepaid, settlement.ClearingOptions{TopUpThreshold: 7000})
		if err != nil {
			t.Fatal(err)
		}
		var net, cash, gross fen.Fen
		for _, p := range st.Provinces {
			net += p.Net
			cash += p.NetCash
		}
		for _, it := range items {
			if it.MdtrtareaAdmdvs[:2] != it.InsuplcAdmdvs[:2] {
				gross += it.Amount()
			}
		}
		var pairGross fen.Fen
		for _, p := range st.Pairs {
			pairGross += p.Gross
			if p.Drawn < 0 || p.Drawn > p.Prepaid || p.Drawn+p.Due != p.Gross {
				t.Fatalf("pair %+v does not balance", p)
			}
		}
		if net != 0 || cash != 0 || pairGross != gross {
			t.Fatalf("Σ net = %v, Σ cash = %v, pairs %v vs items %v", net, cash, pairGross, gross)
		}
		// Transfers settle every province's cash position.
		bal := map[string]fen.Fen{}
		for _, tr := range st.Transfers {
			bal[tr.To] += tr.Amount
			bal[tr.From] -= tr.Amount
		}
		for _, p := range st.Provinces {
			if bal[p.Province] != p.NetCash {
				t.Fatalf("transfers give %s %v, net cash %v", p.Province, bal[p.Province], p.NetCash)
			}
		}
		rng.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
		again, err := settlement.Clear("2024-03", items, prepaid, settlement.ClearingOptions{TopUpThreshold: 7000})
		if err != nil || !reflect.DeepEqual(st, again) {
			t.Fatalf("clearing depends on item order")
		}
	}
}

func TestReconcile(t *testing.T) {
	a := settlement.ClearingItem{Msgid: "a", Month: "2024-03", MdtrtareaAdmdvs: "110105", InsuplcAdmdvs: "440300", FundPay: 100}
	b := a
	b.Msgid = "b"
	c := a
	c.Msgid = "c"
	c2 := c
	c2.FundPay = 101
	d := a
	d.Msgid = "d"
	got := settlement.Reconcile([]settlement.ClearingItem{a, b, c}, []settlement.ClearingItem{a, c2, d})
	want := []string{"b:" + settlement.MissingLocal, "c:" + settlement.AmountDiffer, "d:" + settlement.MissingHub}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i, m := range got {
		if m.Msgid+":"+m.Kind != want[i] {
			t.Errorf("mismatch %d = %s:%s, want %s", i, m.Msgid, m.Kind, want[i])
		}
	}
	if len(settlement.Reconcile([]settlement.ClearingItem{a}, []settlement.ClearingItem{a})) != 0 {
		t.Error("identical journals reported as different")
	}
}
