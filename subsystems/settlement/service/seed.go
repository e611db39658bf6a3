package service

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/ybfed/ybfed/crypto/pii"
	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// DemoCatalogue is a small treatment-place catalogue for tests and the
// demo: one item of each kind the pricing rules distinguish.
func DemoCatalogue() settlement.CatalogueMap {
	items := []settlement.CatalogueItem{
		{Code: "C01010100100000000001", Name: "丙类耗材", Class: settlement.ClassC, SelfpayProp: fen.RatioOne},
		{Code: "XL01XC000A001010100001", Name: "乙类药品", Class: settlement.ClassB, SelfpayProp: fen.Percent(10)},
		{Code: "001101000010000", Name: "限价检查", Class: settlement.ClassA, PriceCap: fen.Yuan(100)},
		{Code: "003301000010000", Name: "甲类手术", Class: settlement.ClassA},
		{Code: "XA02BC010A001010100002", Name: "限量药品", Class: settlement.ClassB, SelfpayProp: fen.Percent(5), PriceCap: fen.Yuan(10), MaxCnt: fen.Units(10)},
		{Code: "001102000010000", Name: "普通门诊诊查费", Class: settlement.ClassA},
	}
	m := settlement.CatalogueMap{}
	for _, it := range items {
		m[it.Code] = it
	}
	return m
}

// DemoPolicy is a benefit policy for insured place admdvs with the
// parameters of DOMAIN.md's examples: employees (310) with a 1,800 yuan
// outpatient deductible and 1,300 yuan inpatient deductible at level 3,
// residents (390) with critical-illness insurance. Cross-province visits
// without a filing settle at a ratio 10 points lower.
func DemoPolicy(admdvs string) *settlement.Policy {
	y := func(v int64) fen.Fen { return fen.Yuan(v) }
	p := func(v int64) fen.Ratio { return fen.Percent(v) }
	return &settlement.Policy{
		Admdvs: admdvs, Year: 2024,
		Schemes: []settlement.Scheme{
			{
				Insutype: settlement.InsutypeEmployee, PoolFund: settlement.FundEmployeePool,
				Outpatient: &settlement.Benefit{
					Deductible: [4]fen.Fen{y(1800), y(1800), y(1800), y(1800)},
					Ratio:      [4]fen.Ratio{p(70), p(70), p(60), p(50)}, RetiredRatio: [4]fen.Ratio{p(80), p(80), p(70), p(60)},
				},
				Inpatient: &settlement.Benefit{
					Deductible:       [4]fen.Fen{y(300), y(300), y(600), y(1300)},
					RepeatDeductible: [4]fen.Fen{y(150), y(150), y(300), y(650)}, PerAdmission: true,
					Ratio: [4]fen.Ratio{p(90), p(90), p(88), p(85)}, RetiredRatio: [4]fen.Ratio{p(95), p(95), p(93), p(90)},
					Cap: y(300000),
				},
				LargeAmount:  &settlement.Segment{Ratio: p(90), Cap: y(500000)},
				CivilServant: &settlement.Segment{Ratio: p(50), Cap: y(20000)},
			},
			{
				Insutype: settlement.InsutypeResident, PoolFund: settlement.FundResidentPool,
				Outpatient: &settlement.Benefit{Ratio: [4]fen.Ratio{p(60), p(60), p(55), p(50)}, Cap: y(800)},
				Inpatient: &settlement.Benefit{
					Deductible:       [4]fen.Fen{y(300), y(300), y(300), y(1500)},
					RepeatDeductible: [4]fen.Fen{y(300), y(300), y(300), y(1500)}, PerAdmission: true,
					Ratio: [4]fen.Ratio{p(90), p(90), p(85), p(60)}, Cap: y(200000),
				},
				CriticalIllness: &settlement.CISegment{Bands: []settlement.Band{{Above: y(20000), Ratio: p(60)}, {Above: y(100000), Ratio: p(70)}}, Cap: y(400000)},
			},
		},
		Assistance: []settlement.AssistanceRule{
			{Category: "dibao", Ratio: p(70), Cap: y(50000)},
			{Category: "tekun", Ratio: p(100)},
		},
		CrossProvince: settlement.CrossProvinceRule{Filing: settlement.FilingReduce, UnfiledReduction: p(10), TemporaryReduction: p(10)},
	}
}

// SeedPerson is a synthetic insured person.
type SeedPerson struct {
	PsnNo, Certno, Insutype, Insuplc string
	Name, Gend                       string
}

// SeedHospital is a synthetic hospital with its signing key.
type SeedHospital struct {
	Hospital
	SignKey *sm.PrivateKey
}

// Seeded lists what SeedNode created.
type Seeded struct {
	Persons   []SeedPerson
	Hospitals []SeedHospital
}

// SeedCity is the pooling region synthetic persons and hospitals of a
// province belong to (e.g. 440100 for 440000).
func SeedCity(admdvs string) string { return admdvs[:2] + "0100" }

// SeedNode migrates db and fills it with n synthetic insured persons of
// province admdvs and three hospitals (levels 1–3), all derived from seed:
// the same arguments always give the same people and hospital keys.
func SeedNode(ctx context.Context, db *store.DB, keys *pii.Keyring, admdvs string, n int, seed int64) (*Seeded, error) {
	s, err := New(Options{Admdvs: admdvs, DB: db, Keys: keys, Catalogue: DemoCatalogue(), Policies: PolicyMap{admdvs: DemoPolicy(admdvs)}})
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		return nil, err
	}
	return s.Seed(ctx, n, seed)
}

var (
	surnames = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周"}
	given    = []string{"伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "军", "娟"}
)

// Seed fills the service's store like SeedNode.
func (s *Service) Seed(ctx context.Context, n int, seed int64) (*Seeded, error) {
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
	city := SeedCity(s.admdvs)
	out := &Seeded{}
	for i := 1; i <= 3; i++ {
		d := make([]byte, 32)
		for j := range d {
			d[j] = byte(rng.UintN(256))
		}
		d[0] |= 1
		d[0] &= 0x7f
		key, err := sm.PrivateKeyFromScalar(d)
		if err != nil {
			return nil, fmt.Errorf("seed hospital key: %w", err)
		}
		h := Hospital{Code: fmt.Sprintf("H%s%05d", city, i), Name: fmt.Sprintf("%s第%d医院", city, i), Admdvs: city, Level: i, Key: key.Public()}
		if err := s.RegisterHospital(ctx, h); err != nil {
			return nil, err
		}
		out.Hospitals = append(out.Hospitals, SeedHospital{Hospital: h, SignKey: key})
	}
	const batch = 200
	for start := 0; start < n; start += batch {
		end := min(start+batch, n)
		var people []settlement.Person
		for i := start; i < end; i++ {
			p := s.seedPerson(rng, city, i)
			people = append(people, p)
			out.Persons = append(out.Persons, SeedPerson{PsnNo: p.BaseInfo.PsnNo, Certno: p.BaseInfo.Certno, Insutype: p.Insurance[0].Insutype, Insuplc: city,
				Name: p.BaseInfo.PsnName, Gend: p.BaseInfo.Gend})
		}
		err := s.db.Tx(ctx, func(tx *store.Tx) error {
			for i := range people {
				if err := s.putPerson(ctx, tx, &people[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("seed persons: %w", err)
		}
	}
	return out, nil
}

func (s *Service) seedPerson(rng *rand.Rand, city string, i int) settlement.Person {
	year := 1950 + rng.IntN(55)
	brdy := fmt.Sprintf("%04d-%02d-%02d", year, 1+rng.IntN(12), 1+rng.IntN(28))
	certno := withCheckChar(fmt.Sprintf("%s%s%03d%d", city, brdy[:4]+brdy[5:7]+brdy[8:], rng.IntN(1000), rng.IntN(10)))
	gend := fmt.Sprint(1 + rng.IntN(2))
	insu := settlement.Insurance{Insutype: settlement.InsutypeEmployee, PsnType: "1101", PsnInsuStas: "1", CvlservFlag: "0",
		InsuplcAdmdvs: city, EmpName: "某某有限公司", Balc: fen.Yuan(int64(rng.IntN(5000)))}
	switch {
	case i%3 == 2:
		insu = settlement.Insurance{Insutype: settlement.InsutypeResident, PsnType: "1401", PsnInsuStas: "1", CvlservFlag: "0", InsuplcAdmdvs: city}
	case year < 1964:
		insu.PsnType = "1201" // retired
	}
	return settlement.Person{
		BaseInfo: settlement.BaseInfo{
			PsnNo: fmt.Sprintf("%s%018d", s.admdvs[:2], i+1), PsnCertType: "01", Certno: certno,
			PsnName: surnames[rng.IntN(len(surnames))] + given[rng.IntN(len(given))], Gend: gend, Naty: "01",
			Brdy: brdy, Age: 2024 - year,
		},
		Insurance: []settlement.Insurance{insu},
	}
}

// withCheckChar replaces the last character of an 18-character identity
// number with its GB 11643 check character, so synthetic persons can be
// enrolled in the basic-information register too.
func withCheckChar(c string) string {
	w := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := range 17 {
		sum += int(c[i]-'0') * w[i]
	}
	return c[:17] + string("10X98765432"[sum%11])
}
