package centers

import (
	"fmt"
	"slices"
	"strings"
)

// Region names of the six traditional administrative regions, plus the label
// used for the national center.
const (
	RegionNational  = "全国"
	RegionNorth     = "华北"
	RegionNortheast = "东北"
	RegionEast      = "华东"
	RegionSouth     = "中南"
	RegionSouthwest = "西南"
	RegionNorthwest = "西北"
)

// NationalAdmdvs is the admdvs code of the national center.
const NationalAdmdvs = "100000"

// XPCCAdmdvs is the admdvs code used for the Xinjiang Production and
// Construction Corps (assumed; GB/T 2260 has none).
const XPCCAdmdvs = "660000"

// Center is one federation center: the national center or a province-level unit.
type Center struct {
	Admdvs   string // 6-digit code, e.g. "440000"
	Name     string // official Chinese name, e.g. "广东省"
	Pinyin   string // pinyin name without tones, e.g. "Guangdong"
	Region   string // one of the six regions, or RegionNational
	National bool   // true only for the national center
}

// table is the fixed list, national first then by admdvs. It is never modified.
var table = [...]Center{
	{NationalAdmdvs, "国家医疗保障局", "Guojia", RegionNational, true},
	{"110000", "北京市", "Beijing", RegionNorth, false},
	{"120000", "天津市", "Tianjin", RegionNorth, false},
	{"130000", "河北省", "Hebei", RegionNorth, false},
	{"140000", "山西省", "Shanxi", RegionNorth, false},
	{"150000", "内蒙古自治区", "Neimenggu", RegionNorth, false},
	{"210000", "辽宁省", "Liaoning", RegionNortheast, false},
	{"220000", "吉林省", "Jilin", RegionNortheast, false},
	{"230000", "黑龙江省", "Heilongjiang", RegionNortheast, false},
	{"310000", "上海市", "Shanghai", RegionEast, false},
	{"320000", "江苏省", "Jiangsu", RegionEast, false},
	{"330000", "浙江省", "Zhejiang", RegionEast, false},
	{"340000", "安徽省", "Anhui", RegionEast, false},
	{"350000", "福建省", "Fujian", RegionEast, false},
	{"360000", "江西省", "Jiangxi", RegionEast, false},
	{"370000", "山东省", "Shandong", RegionEast, false},
	{"410000", "河南省", "Henan", RegionSouth, false},
	{"420000", "湖北省", "Hubei", RegionSouth, false},
	{"430000", "湖南省", "Hunan", RegionSouth, false},
	{"440000", "广东省", "Guangdong", RegionSouth, false},
	{"450000", "广西壮族自治区", "Guangxi", RegionSouth, false},
	{"460000", "海南省", "Hainan", RegionSouth, false},
	{"500000", "重庆市", "Chongqing", RegionSouthwest, false},
	{"510000", "四川省", "Sichuan", RegionSouthwest, false},
	{"520000", "贵州省", "Guizhou", RegionSouthwest, false},
	{"530000", "云南省", "Yunnan", RegionSouthwest, false},
	{"540000", "西藏自治区", "Xizang", RegionSouthwest, false},
	{"610000", "陕西省", "Shaanxi", RegionNorthwest, false},
	{"620000", "甘肃省", "Gansu", RegionNorthwest, false},
	{"630000", "青海省", "Qinghai", RegionNorthwest, false},
	{"640000", "宁夏回族自治区", "Ningxia", RegionNorthwest, false},
	{"650000", "新疆维吾尔自治区", "Xinjiang", RegionNorthwest, false},
	{XPCCAdmdvs, "新疆生产建设兵团", "Bingtuan", RegionNorthwest, false},
}

// Table is a set of centers. The package-level functions use the default
// table; NewTable builds one with another XPCC code for deployments that
// configure it.
type Table struct {
	centers []Center // national first, then by admdvs
}

var defaultTable = &Table{centers: table[:]}

// Default returns the default table (XPCC at XPCCAdmdvs).
func Default() *Table { return defaultTable }

// NewTable returns the table with the XPCC at xpccAdmdvs, which must have the
// province-level shape "dd0000" and not be the code of another center.
func NewTable(xpccAdmdvs string) (*Table, error) {
	if len(xpccAdmdvs) != 6 || xpccAdmdvs[2:] != "0000" || xpccAdmdvs[0] < '1' || xpccAdmdvs[0] > '9' || xpccAdmdvs[1] < '0' || xpccAdmdvs[1] > '9' {
		return nil, fmt.Errorf("xpcc admdvs %q: want a province-level code dd0000", xpccAdmdvs)
	}
	out := make([]Center, 0, len(table))
	for _, c := range table {
		if c.Admdvs == xpccAdmdvs && c.Admdvs != XPCCAdmdvs {
			return nil, fmt.Errorf("xpcc admdvs %q: already the code of %s", xpccAdmdvs, c.Pinyin)
		}
		if c.Admdvs == XPCCAdmdvs {
			c.Admdvs = xpccAdmdvs
		}
		out = append(out, c)
	}
	slices.SortStableFunc(out[1:], func(a, b Center) int { return strings.Compare(a.Admdvs, b.Admdvs) })
	return &Table{centers: out}, nil
}

// All returns the 33 centers, national first, then by admdvs code. The
// returned slice is a fresh copy the caller may modify.
func All() []Center { return defaultTable.All() }

// All returns the table's centers, national first, then by admdvs code, as a
// fresh copy.
func (t *Table) All() []Center {
	out := make([]Center, len(t.centers))
	copy(out, t.centers)
	return out
}

// Provinces returns the 32 province-level centers (all but the national one).
func Provinces() []Center { return defaultTable.Provinces() }

// Provinces returns the table's province-level centers.
func (t *Table) Provinces() []Center {
	out := make([]Center, 0, len(t.centers)-1)
	for _, c := range t.centers {
		if !c.National {
			out = append(out, c)
		}
	}
	return out
}

// Regions returns the six region names in their customary order.
func Regions() []string {
	return []string{RegionNorth, RegionNortheast, RegionEast, RegionSouth, RegionSouthwest, RegionNorthwest}
}

// Lookup returns the center whose admdvs code is exactly admdvs.
func Lookup(admdvs string) (Center, bool) { return defaultTable.Lookup(admdvs) }

// Lookup returns the table's center whose admdvs code is exactly admdvs.
func (t *Table) Lookup(admdvs string) (Center, bool) {
	for _, c := range t.centers {
		if c.Admdvs == admdvs {
			return c, true
		}
	}
	return Center{}, false
}

// Province returns the province-level prefix code of admdvs: its first two
// digits followed by "0000". It returns "" when admdvs is shorter than two bytes.
func Province(admdvs string) string {
	if len(admdvs) < 2 {
		return ""
	}
	return admdvs[:2] + "0000"
}

// City returns the city-level prefix code of admdvs: its first four digits
// followed by "00". It returns "" when admdvs is shorter than four bytes.
func City(admdvs string) string {
	if len(admdvs) < 4 {
		return ""
	}
	return admdvs[:4] + "00"
}

// ValidAdmdvs checks that code is a 6-digit admdvs code that is either a
// known center or a city/county code of GB/T 2260 shape (ppCCDD with CC or
// DD non-zero, and DD "00" only when CC is non-zero) under a known province.
// The national code 100000 has no subdivisions.
func ValidAdmdvs(code string) error { return defaultTable.ValidAdmdvs(code) }

// ValidAdmdvs is the package-level ValidAdmdvs against the table's centers.
func (t *Table) ValidAdmdvs(code string) error {
	if len(code) != 6 {
		return fmt.Errorf("admdvs %q: want 6 digits, have %d characters", code, len(code))
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return fmt.Errorf("admdvs %q: character %d is not a digit", code, i+1)
		}
	}
	if _, ok := t.Lookup(code); ok {
		return nil
	}
	prov, ok := t.Lookup(Province(code))
	if !ok || prov.National {
		return fmt.Errorf("admdvs %q: unknown province %s", code, Province(code))
	}
	if code[2:4] == "00" {
		// A county directly under a province has a non-zero city part (e.g.
		// 469001, 659001); "ppOODD" with DD != 00 is not a GB/T 2260 shape.
		return fmt.Errorf("admdvs %q: city digits 00 with county digits %s", code, code[4:6])
	}
	return nil
}
