package settlement

import "github.com/ybfed/ybfed/internal/fen"

// CatalogueItem is what the treatment place's catalogue says about one
// insurance list code (med_list_codg): class, co-pay and limits.
type CatalogueItem struct {
	Code        string    `json:"med_list_codg"`
	Name        string    `json:"name"`
	Class       Class     `json:"chrgitm_lv"`     // 01 甲 / 02 乙 / 03 丙
	SelfpayProp fen.Ratio `json:"selfpay_prop"`   // 乙 first co-pay (先行自付比例), from 1319
	PriceCap    fen.Fen   `json:"pric_uplmt_amt"` // unit price ceiling (1318); 0 = none
	// MaxCnt is the payable quantity per line (限量); the quantity above it
	// is fully self-paid. 0 = no limit.
	MaxCnt fen.Qty `json:"max_cnt,omitempty"`
}

// Catalogue looks up insurance list codes in the treatment place's
// catalogue. The caller provides it (the catalogue subsystem or a table
// loaded from reference data); implementations must be safe for
// concurrent use.
type Catalogue interface {
	// Item returns the catalogue entry of code, or false when unknown.
	Item(code string) (CatalogueItem, bool)
}

// CatalogueMap is an in-memory Catalogue keyed by code.
type CatalogueMap map[string]CatalogueItem

var _ Catalogue = CatalogueMap(nil)

// Item returns m[code].
func (m CatalogueMap) Item(code string) (CatalogueItem, bool) {
	it, ok := m[code]
	return it, ok
}
