package catalog

import (
	"fmt"
	"strings"

	"github.com/ybfed/ybfed/federation/centers"
)

// Namespace names one catalogue (one coding standard). A province extension
// of a namespace is written "<namespace>@<admdvs>", see Extension.
type Namespace string

// The catalogue namespaces.
const (
	Diagnosis          Namespace = "diagnosis"          // ICD-10 医保版 disease diagnoses
	Operation          Namespace = "operation"          // ICD-9-CM-3 医保版 operations and procedures
	ServiceItem        Namespace = "service_item"       // 医疗服务项目
	Drug               Namespace = "drug"               // western (X) and Chinese patent (Z) drugs
	Herbal             Namespace = "herbal"             // Chinese herbal decoction pieces 中药饮片 (T)
	Consumable         Namespace = "consumable"         // 医用耗材 (C)
	MedicalInstitution Namespace = "medins"             // 定点医疗机构 (H)
	Pharmacy           Namespace = "pharmacy"           // 定点零售药店 (P)
	Doctor             Namespace = "doctor"             // 医保医师 (D)
	Nurse              Namespace = "nurse"              // 医保护士 (N)
	Pharmacist         Namespace = "pharmacist"         // 医保药师 (Y, HY, HJ)
	ChronicDisease     Namespace = "chronic_disease"    // 门诊慢特病病种 (M)
	DiseaseSettlement  Namespace = "disease_settlement" // 按病种结算病种
	DaySurgery         Namespace = "day_surgery"        // 日间手术病种
	Agency             Namespace = "agency"             // 医保经办机构 (J)
)

// spec describes one namespace: its title, the code shapes it accepts and
// whether its items carry settlement fields.
type spec struct {
	title  string
	shapes []string // see matchShape; the first is the canonical one
	priced bool     // items may carry class, self-pay ratio and price cap
	// admdvsAt is the offset of an embedded 6-digit admdvs code, or -1.
	admdvsAt func(code string) int
	// check is an extra structural check (pairs of codes), or nil.
	check func(code string) error
}

func fixedAdmdvs(off int) func(string) int { return func(string) int { return off } }

func noAdmdvs(string) int { return -1 }

var (
	diagnosisShapes = []string{"a99.999", "a99.999x999"}
	operationShapes = []string{"99.9999", "99.9999x999"}
)

// specs is a fixed table, never modified.
var specs = map[Namespace]spec{
	Diagnosis:   {title: "ICD-10 医保版疾病诊断", shapes: diagnosisShapes, admdvsAt: noAdmdvs},
	Operation:   {title: "ICD-9-CM-3 医保版手术操作", shapes: operationShapes, admdvsAt: noAdmdvs},
	ServiceItem: {title: "医疗服务项目", shapes: []string{"999999999999999"}, priced: true, admdvsAt: noAdmdvs},
	Drug: {title: "西药中成药", shapes: []string{
		"Xa99aaa999a999999999999", // X + class(5) + name(4) + form(4) + spec/package/manufacturer(9)
		"Za99aaa999a999999999999", // Chinese patent medicine, same layout
		"Za99aaa9999999999999",    // Chinese patent medicine, 20-character layout
	}, priced: true, admdvsAt: noAdmdvs},
	Herbal:             {title: "中药饮片", shapes: []string{"T999999999"}, priced: true, admdvsAt: noAdmdvs},
	Consumable:         {title: "医用耗材", shapes: []string{"C9999999999999999999", "C99999999999999999999999999"}, priced: true, admdvsAt: noAdmdvs},
	MedicalInstitution: {title: "定点医疗机构", shapes: []string{"H99999999999"}, admdvsAt: fixedAdmdvs(1)},
	Pharmacy:           {title: "定点零售药店", shapes: []string{"P99999999999"}, admdvsAt: fixedAdmdvs(1)},
	Doctor:             {title: "医保医师", shapes: []string{"D9999999999999"}, admdvsAt: fixedAdmdvs(1)},
	Nurse:              {title: "医保护士", shapes: []string{"N9999999999999"}, admdvsAt: fixedAdmdvs(1)},
	Pharmacist: {title: "医保药师", shapes: []string{"Y9999999999999", "HY999999999999", "HJ999999999999"}, admdvsAt: func(code string) int {
		if strings.HasPrefix(code, "Y") {
			return 1
		}
		return 2
	}},
	ChronicDisease:    {title: "门诊慢特病病种", shapes: []string{"M99999"}, admdvsAt: noAdmdvs},
	DiseaseSettlement: {title: "按病种结算病种", shapes: nil, priced: true, admdvsAt: noAdmdvs, check: pairCheck(false)},
	DaySurgery:        {title: "日间手术病种", shapes: nil, priced: true, admdvsAt: noAdmdvs, check: pairCheck(true)},
	Agency:            {title: "医保经办机构", shapes: []string{"J999999999"}, admdvsAt: fixedAdmdvs(1)},
}

// order is the fixed order of Namespaces.
var order = [...]Namespace{
	Diagnosis, Operation, ServiceItem, Drug, Herbal, Consumable,
	MedicalInstitution, Pharmacy, Doctor, Nurse, Pharmacist,
	ChronicDisease, DiseaseSettlement, DaySurgery, Agency,
}

// Namespaces returns every namespace in a fixed order.
func Namespaces() []Namespace {
	out := make([]Namespace, len(order))
	copy(out, order[:])
	return out
}

// Title returns the Chinese title of ns, or "" for an unknown namespace.
func (ns Namespace) Title() string { return specs[ns].title }

// Known reports whether ns is one of the base namespaces.
func (ns Namespace) Known() bool {
	_, ok := specs[ns]
	return ok
}

// Priced reports whether items of ns carry settlement fields (class,
// self-pay ratio, price cap).
func (ns Namespace) Priced() bool { return specs[ns].priced }

// Extension returns the namespace of the province extension of ns for the
// province-level admdvs code, e.g. "drug@440000".
func Extension(ns Namespace, admdvs string) Namespace {
	return Namespace(string(ns) + "@" + admdvs)
}

// ParseNamespace splits a namespace name into its base namespace and, for a
// province extension, the province admdvs code ("" for the national one).
func ParseNamespace(s string) (base Namespace, admdvs string, err error) {
	b, a, ext := strings.Cut(s, "@")
	base = Namespace(b)
	if !base.Known() {
		return "", "", fmt.Errorf("namespace %q: unknown catalogue %q", s, b)
	}
	if !ext {
		return base, "", nil
	}
	c, ok := centers.Lookup(a)
	if !ok || c.National {
		return "", "", fmt.Errorf("namespace %q: %q is not a province-level center", s, a)
	}
	return base, a, nil
}

// ValidateCode checks code against the format of namespace ns (a base
// namespace or a province extension of one).
func ValidateCode(ns Namespace, code string) error {
	base, prov, err := ParseNamespace(string(ns))
	if err != nil {
		return err
	}
	return validateIn(base, prov, code)
}

// validateIn checks code for namespace base and, in the extension of
// province prov, that an embedded admdvs code lies in that province (for the
// XPCC also under 6590, where GB/T 2260 lists its cities).
func validateIn(base Namespace, prov, code string) error {
	sp := specs[base]
	if err := sp.validate(code); err != nil {
		return err
	}
	if off := sp.admdvsAt(code); prov != "" && off >= 0 {
		adm := code[off : off+6]
		if centers.Province(adm) != prov && !(prov == centers.XPCCAdmdvs && strings.HasPrefix(adm, "6590")) {
			return fmt.Errorf("embedded admdvs %s is outside province %s", adm, prov)
		}
	}
	return nil
}

func (s spec) validate(code string) error {
	if s.check != nil {
		return s.check(code)
	}
	if err := matchAny(code, s.shapes); err != nil {
		return err
	}
	if off := s.admdvsAt(code); off >= 0 {
		if err := centers.ValidAdmdvs(code[off : off+6]); err != nil {
			return fmt.Errorf("embedded %w", err)
		}
	}
	return nil
}

// pairCheck validates "<ICD-10>" or "<ICD-10>+<ICD-9-CM-3>" (the treatment
// operation); with needOp the operation part is required.
func pairCheck(needOp bool) func(string) error {
	return func(code string) error {
		diag, op, hasOp := strings.Cut(code, "+")
		if err := matchAny(diag, diagnosisShapes); err != nil {
			return fmt.Errorf("diagnosis part: %w", err)
		}
		if !hasOp {
			if needOp {
				return fmt.Errorf("want <ICD-10>+<ICD-9-CM-3>, no operation part")
			}
			return nil
		}
		if err := matchAny(op, operationShapes); err != nil {
			return fmt.Errorf("operation part: %w", err)
		}
		return nil
	}
}

// matchAny reports, when code fits none of shapes, the mismatch that comes
// latest in a shape of the code's length (the most likely intended one).
func matchAny(code string, shapes []string) error {
	var best error
	bestPos := -2
	for _, sh := range shapes {
		pos, err := matchShape(code, sh)
		if err == nil {
			return nil
		}
		if best == nil || pos > bestPos {
			best, bestPos = err, pos
		}
	}
	if len(shapes) > 1 {
		alts := make([]string, len(shapes))
		for i, sh := range shapes {
			alts[i] = fmt.Sprintf("%s (%d)", sh, len(sh))
		}
		return fmt.Errorf("%w; accepted shapes: %s", best, strings.Join(alts, ", "))
	}
	return best
}

// matchShape checks code against a shape where 'a' stands for an upper-case
// ASCII letter, '9' for an ASCII digit and any other byte for itself. On a
// mismatch it returns the position of the first wrong character, or -1 when
// the length differs.
func matchShape(code, shape string) (int, error) {
	if len(code) != len(shape) {
		return -1, fmt.Errorf("want %d characters (shape %s), have %d", len(shape), shape, len(code))
	}
	for i := 0; i < len(shape); i++ {
		c := code[i]
		switch shape[i] {
		case 'a':
			if c < 'A' || c > 'Z' {
				return i, fmt.Errorf("character %d %q should be an upper-case letter (shape %s)", i+1, c, shape)
			}
		case '9':
			if c < '0' || c > '9' {
				return i, fmt.Errorf("character %d %q should be a digit (shape %s)", i+1, c, shape)
			}
		default:
			if c != shape[i] {
				return i, fmt.Errorf("character %d %q should be %q (shape %s)", i+1, c, shape[i], shape)
			}
		}
	}
	return 0, nil
}
