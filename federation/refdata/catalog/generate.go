package catalog

import (
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/internal/fen"
)

// Scale divides the national item counts: National (1) is the full
// synthetic national catalogue, 20 is one twentieth of it.
type Scale int

// National is the full national scale.
const National Scale = 1

// nationalCounts are the item counts of the national-scale catalogue.
var nationalCounts = map[Namespace]int{
	Diagnosis:          33000,
	Operation:          13000,
	ServiceItem:        14000,
	Drug:               200000,
	Herbal:             3000,
	Consumable:         61000,
	MedicalInstitution: 10000,
	Pharmacy:           10000,
	Doctor:             20000,
	Nurse:              10000,
	Pharmacist:         5000,
	ChronicDisease:     300,
	DiseaseSettlement:  600,
	DaySurgery:         300,
	Agency:             400,
}

// Count returns how many items Generate makes for ns at scale s (at least 1).
func (s Scale) Count(ns Namespace) int {
	if s < 1 {
		s = 1
	}
	n := nationalCounts[ns]
	return (n + int(s) - 1) / int(s)
}

// Generate returns a synthetic catalogue for every namespace: valid codes,
// plausible names and a mix of classes, ratios, price caps, limits and
// validity periods. Each list is sorted by code. The same seed and scale
// always give identical output.
func Generate(seed int64, scale Scale) map[Namespace][]Item {
	out := make(map[Namespace][]Item, len(order))
	for i, ns := range order {
		g := &gen{
			r:     rand.New(rand.NewPCG(uint64(seed), uint64(i+1)*0x9E3779B97F4A7C15)),
			provs: centers.Provinces(),
		}
		n := scale.Count(ns)
		switch ns {
		case DiseaseSettlement, DaySurgery:
			g.diags, g.ops = out[Diagnosis], out[Operation]
		}
		out[ns] = g.items(ns, n)
	}
	return out
}

// Adds returns one OpAdd change per item, in the items' order.
func Adds(items []Item) []Change {
	cs := make([]Change, len(items))
	for i := range items {
		cs[i] = Change{Op: OpAdd, Item: items[i]}
	}
	return cs
}

// gen holds the state of one namespace's generation.
type gen struct {
	r     *rand.Rand
	provs []centers.Center
	diags []Item
	ops   []Item
	buf   []byte
}

func (g *gen) items(ns Namespace, n int) []Item {
	items := make([]Item, 0, n)
	seen := make(map[string]bool, n)
	for len(items) < n {
		it := g.item(ns)
		if seen[it.Code] {
			continue
		}
		seen[it.Code] = true
		items = append(items, it)
	}
	SortItems(items)
	return items
}

func (g *gen) pick(list []string) string { return list[g.r.IntN(len(list))] }

func (g *gen) digits(n int) {
	for i := 0; i < n; i++ {
		g.buf = append(g.buf, byte('0'+g.r.IntN(10)))
	}
}

func (g *gen) letter() { g.buf = append(g.buf, byte('A'+g.r.IntN(26))) }

// num appends v as exactly width digits.
func (g *gen) num(v, width int) {
	s := strconv.Itoa(v)
	for i := len(s); i < width; i++ {
		g.buf = append(g.buf, '0')
	}
	g.buf = append(g.buf, s...)
}

func (g *gen) code() string { return string(g.buf) }

// admdvs returns a city or county code under a random province.
func (g *gen) admdvs() (string, centers.Center) {
	c := g.provs[g.r.IntN(len(g.provs))]
	city := 1 + g.r.IntN(15)
	county := 0
	if g.r.IntN(3) > 0 {
		county = 1 + g.r.IntN(30)
	}
	return c.Admdvs[:2] + pad2(city) + pad2(county), c
}

func pad2(v int) string {
	if v < 10 {
		return "0" + strconv.Itoa(v)
	}
	return strconv.Itoa(v)
}

var epoch = time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)

// validity gives a start date in 2019..2025 and, for a few items, an end.
func (g *gen) validity(it *Item) {
	from := epoch.AddDate(0, 0, g.r.IntN(7*365))
	it.ValidFrom = DateOf(from)
	if g.r.IntN(100) < 6 {
		it.ValidTo = DateOf(from.AddDate(1+g.r.IntN(3), 0, -1))
	}
}

// pricing sets class, self-pay ratio and price cap (between lo and hi yuan).
func (g *gen) pricing(it *Item, lo, hi int) {
	switch p := g.r.IntN(100); {
	case p < 30:
		it.Class = ClassA
	case p < 90:
		it.Class = ClassB
		it.SelfPayRatio = fen.Ratio([]int64{500, 1000, 1500, 2000, 3000}[g.r.IntN(5)])
	default:
		it.Class = ClassC
	}
	if g.r.IntN(100) < 80 {
		it.PriceCap = fen.Fen(int64(lo)*100 + g.r.Int64N(int64(hi-lo)*100+1))
		if it.PriceCap == 0 {
			it.PriceCap = 1
		}
	}
}

// limits sets occasional age and hospital-level limits.
func (g *gen) limits(it *Item) {
	switch p := g.r.IntN(100); {
	case p < 3:
		it.MaxAge = 17 // children only
	case p < 5:
		it.MinAge = 18
	case p < 6:
		it.MinAge, it.MaxAge = 60, 0
	}
	if g.r.IntN(100) < 5 {
		it.MinHospitalLevel = 2 + g.r.IntN(2)
	}
}

var (
	organs       = []string{"胃", "肝", "肺", "心脏", "肾", "脑", "皮肤", "骨", "眼", "耳", "鼻", "咽", "喉", "结肠", "胆囊", "阑尾", "胰腺", "甲状腺", "乳腺", "膀胱", "食管", "直肠", "关节", "脊柱", "血管"}
	maleOrgans   = []string{"前列腺", "睾丸"}
	femaleOrgans = []string{"子宫", "卵巢", "宫颈"}
	diseases     = []string{"炎", "恶性肿瘤", "良性肿瘤", "结石", "囊肿", "出血", "损伤", "感染", "功能障碍", "畸形", "梗阻", "纤维化"}
	qualifiers   = []string{"", "急性", "慢性", "复发性", "继发性", "先天性"}
	procs        = []string{"切除术", "部分切除术", "修补术", "造影", "活组织检查", "置换术", "引流术", "成形术", "内镜检查", "介入治疗"}
	approaches   = []string{"", "腹腔镜下", "经皮", "内镜下", "开放性", "机器人辅助"}
	services     = []string{"一般诊疗费", "静脉输液", "血常规检查", "CT平扫", "磁共振扫描", "心电图检查", "彩色多普勒超声检查", "换药", "肌肉注射", "住院诊查费", "床位费", "分级护理", "血液透析", "康复评定", "针灸治疗", "病理检查", "生化检验"}
	westernDrugs = []string{"阿莫西林", "头孢克肟", "布洛芬", "二甲双胍", "阿托伐他汀", "氨氯地平", "奥美拉唑", "左氧氟沙星", "甲硝唑", "对乙酰氨基酚", "硝苯地平", "氯吡格雷", "瑞舒伐他汀", "缬沙坦", "胰岛素", "地塞米松", "阿司匹林", "美托洛尔", "厄贝沙坦", "孟鲁司特"}
	westernForms = []string{"片", "胶囊", "注射液", "颗粒", "口服溶液", "缓释片", "肠溶片", "软膏", "滴眼液", "分散片"}
	patentDrugs  = []string{"复方丹参", "六味地黄", "板蓝根", "银黄", "连花清瘟", "血塞通", "藿香正气", "双黄连", "牛黄解毒", "逍遥", "补中益气", "安宫牛黄"}
	patentForms  = []string{"丸", "片", "胶囊", "颗粒", "口服液", "注射液", "滴丸"}
	specs1       = []string{"0.1g", "0.25g", "0.5g", "5mg", "10mg", "20mg", "1ml:10mg", "2ml:0.1g", "10g", "100ml"}
	packs        = []string{"*10", "*12", "*24", "*30", "*6", "*1"}
	places       = []string{"华北", "江南", "东方", "天山", "长江", "南岭", "黄河", "海滨", "齐鲁", "蜀中"}
	herbs        = []string{"黄芪", "当归", "党参", "白术", "甘草", "茯苓", "川芎", "熟地黄", "白芍", "陈皮", "金银花", "连翘", "丹参", "枸杞子", "山药"}
	herbProc     = []string{"片", "饮片", "(炒)", "(蜜炙)", "(酒制)", "(生)", "颗粒"}
	consumables  = []string{"一次性使用无菌注射器", "导尿管", "骨科植入螺钉", "人工晶体", "冠脉支架", "可吸收缝合线", "引流袋", "导丝", "球囊扩张导管", "止血夹", "人工关节", "吻合器"}
	hospitals    = []string{"人民医院", "中医院", "妇幼保健院", "中心医院", "第一人民医院", "第二人民医院", "卫生院", "社区卫生服务中心", "肿瘤医院", "儿童医院"}
	surnames     = []string{"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马", "罗"}
	given        = []string{"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "华", "平"}
	chronics     = []string{"高血压", "糖尿病", "慢性肾功能衰竭透析", "恶性肿瘤门诊放化疗", "器官移植抗排异治疗", "精神分裂症", "冠心病", "慢性阻塞性肺疾病", "帕金森病", "类风湿关节炎", "肝硬化", "系统性红斑狼疮", "血友病", "再生障碍性贫血", "癫痫"}
)

func (g *gen) item(ns Namespace) Item {
	g.buf = g.buf[:0]
	var it Item
	switch ns {
	case Diagnosis:
		g.letter()
		g.num(g.r.IntN(100), 2)
		g.buf = append(g.buf, '.')
		g.num(g.r.IntN(1000), 3)
		if g.r.IntN(10) == 0 {
			g.buf = append(g.buf, 'x')
			g.num(1+g.r.IntN(20), 3)
		}
		it.Code = g.code()
		organ := ""
		switch p := g.r.IntN(100); {
		case p < 4:
			organ, it.Gender = g.pick(maleOrgans), GenderMale
		case p < 9:
			organ, it.Gender = g.pick(femaleOrgans), GenderFemale
		default:
			organ = g.pick(organs)
		}
		it.Name = g.pick(qualifiers) + organ + g.pick(diseases)
	case Operation:
		g.num(g.r.IntN(100), 2)
		g.buf = append(g.buf, '.')
		g.num(g.r.IntN(10000), 4)
		if g.r.IntN(10) == 0 {
			g.buf = append(g.buf, 'x')
			g.num(1+g.r.IntN(20), 3)
		}
		it.Code = g.code()
		organ := g.pick(organs)
		if g.r.IntN(100) < 4 {
			organ, it.Gender = g.pick(femaleOrgans), GenderFemale
		}
		it.Name = g.pick(approaches) + organ + g.pick(procs)
		if g.r.IntN(100) < 5 {
			it.MinHospitalLevel = 2 + g.r.IntN(2)
		}
	case ServiceItem:
		g.buf = append(g.buf, "00"...)
		g.num(11+g.r.IntN(25), 2)
		g.digits(11)
		it.Code = g.code()
		it.Name = g.pick(services)
		if g.r.IntN(3) == 0 {
			it.Name += "(" + g.pick(organs) + ")"
		}
		g.pricing(&it, 1, 3000)
		g.limits(&it)
		it.Attrs = map[string]string{"unit": g.pick([]string{"次", "项", "日", "部位", "小时"})}
	case Drug:
		western := g.r.IntN(10) < 7
		if western {
			g.buf = append(g.buf, 'X')
		} else {
			g.buf = append(g.buf, 'Z')
		}
		g.buf = append(g.buf, "ABCDGHJLMNPRSV"[g.r.IntN(14)])
		g.num(1+g.r.IntN(16), 2)
		g.letter()
		g.letter()
		g.letter()
		g.digits(3)
		g.buf = append(g.buf, 'A'+byte(g.r.IntN(8)))
		g.num(1+g.r.IntN(80), 3)
		g.digits(9)
		it.Code = g.code()
		form := ""
		if western {
			form = g.pick(westernForms)
			it.Name = g.pick(westernDrugs) + form
		} else {
			form = g.pick(patentForms)
			it.Name = g.pick(patentDrugs) + form
		}
		g.pricing(&it, 0, 2000)
		g.limits(&it)
		if g.r.IntN(100) < 2 {
			it.Gender = GenderFemale
		}
		it.Attrs = map[string]string{
			"spec":  g.pick(specs1) + g.pick(packs),
			"form":  form,
			"mfr":   g.pick(places) + "制药有限公司",
			"appno": "国药准字" + string("HZSJ"[g.r.IntN(4)]) + strconv.Itoa(19900000+g.r.IntN(36000000)),
		}
	case Herbal:
		g.buf = append(g.buf, 'T')
		g.digits(9)
		it.Code = g.code()
		it.Name = g.pick(herbs) + g.pick(herbProc)
		g.pricing(&it, 0, 50)
		it.Attrs = map[string]string{"unit": "g", "origin": g.pick(places)}
	case Consumable:
		g.buf = append(g.buf, 'C')
		g.num(1+g.r.IntN(18), 2)
		g.num(1+g.r.IntN(20), 2)
		g.num(1+g.r.IntN(30), 2)
		g.digits(3 + 5 + 5)
		if g.r.IntN(100) < 15 {
			g.digits(7)
		}
		it.Code = g.code()
		it.Name = g.pick(consumables)
		g.pricing(&it, 1, 50000)
		g.limits(&it)
		it.Attrs = map[string]string{"mfr": g.pick(places) + "医疗器械有限公司", "spec": g.pick([]string{"S", "M", "L", "5ml", "10ml", "Φ3.0", "Φ4.5", "1支", "1套"})}
	case MedicalInstitution, Pharmacy, Agency:
		code, c := g.admdvs()
		switch ns {
		case MedicalInstitution:
			g.buf = append(g.buf, 'H')
			g.buf = append(g.buf, code...)
			g.digits(5)
			lvl := 1 + g.r.IntN(3)
			it.Name = c.Name + code[2:4] + "市" + g.pick(hospitals)
			it.Attrs = map[string]string{"admdvs": code, "level": strconv.Itoa(lvl)}
		case Pharmacy:
			g.buf = append(g.buf, 'P')
			g.buf = append(g.buf, code...)
			g.digits(5)
			it.Name = g.pick(places) + "大药房第" + strconv.Itoa(1+g.r.IntN(300)) + "分店"
			it.Attrs = map[string]string{"admdvs": code}
		case Agency:
			g.buf = append(g.buf, 'J')
			g.buf = append(g.buf, code...)
			g.digits(3)
			it.Name = c.Name + code[2:4] + "市医疗保障事业管理中心"
			it.Attrs = map[string]string{"admdvs": code}
		}
		it.Code = g.code()
	case Doctor, Nurse, Pharmacist:
		code, _ := g.admdvs()
		serial := 7
		switch ns {
		case Doctor:
			g.buf = append(g.buf, 'D')
		case Nurse:
			g.buf = append(g.buf, 'N')
		default:
			if g.r.IntN(5) == 0 {
				g.buf = append(g.buf, 'H', "YJ"[g.r.IntN(2)])
				serial = 6
			} else {
				g.buf = append(g.buf, 'Y')
			}
		}
		g.buf = append(g.buf, code...)
		g.digits(serial)
		it.Code = g.code()
		it.Name = g.pick(surnames) + g.pick(given)
		it.Attrs = map[string]string{"admdvs": code}
	case ChronicDisease:
		g.buf = append(g.buf, 'M')
		g.digits(5)
		it.Code = g.code()
		it.Name = g.pick(chronics)
		if g.r.IntN(2) == 0 {
			it.Name += "(" + g.pick([]string{"门诊", "特殊", "并发症", "维持治疗"}) + ")"
		}
	case DiseaseSettlement, DaySurgery:
		d := &g.diags[g.r.IntN(len(g.diags))]
		it.Code = d.Code
		it.Name = d.Name
		it.Gender = d.Gender
		if ns == DaySurgery || g.r.IntN(10) < 7 {
			o := &g.ops[g.r.IntN(len(g.ops))]
			it.Code += "+" + o.Code
			it.Name += "(" + o.Name + ")"
			if it.Gender == GenderAny {
				it.Gender = o.Gender
			} else if o.Gender != GenderAny && o.Gender != it.Gender {
				it.Gender = GenderAny
			}
		}
		it.PriceCap = fen.Yuan(int64(2000 + g.r.IntN(60000)))
		it.MinHospitalLevel = g.r.IntN(4)
	}
	g.validity(&it)
	return it
}
