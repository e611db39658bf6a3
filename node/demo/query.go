package demo

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Query sends one signed transaction from hospital i of the province to
// its node, with insuplc_admdvs insuplc ("" for none), and decodes the
// output into out; an answer with infcode ≠ 0 is an error carrying
// err_msg.
func (p *Province) Query(ctx context.Context, i int, infno, insuplc string, input, out any) error {
	if i < 0 || i >= len(p.Hospitals) {
		return fmt.Errorf("demo: province %s has no hospital %d", p.Admdvs, i)
	}
	t := &Traffic{hc: &http.Client{Timeout: 30 * time.Second}}
	h := &hospital{SeedHospital: p.Hospitals[i], seq: p.msgids[i], base: p.base}
	_, err := call{t: t, h: h, url: p.URL, insuplc: insuplc}.do(ctx, infno, input, out)
	return err
}

// CheckPersonIndex sends, from a hospital of the first province, 1101
// without insuplc_admdvs for a person insured in the last one: the
// treatment node finds the insured place through the national person
// index. It returns a one-line report.
func (s *Seeded) CheckPersonIndex(ctx context.Context) (string, error) {
	if len(s.Provinces) < 2 {
		return "", fmt.Errorf("demo: the person index check needs two provinces")
	}
	from, to := s.Provinces[0], s.Provinces[len(s.Provinces)-1]
	p := to.Persons[0]
	var out struct {
		Insuinfo []struct {
			InsuplcAdmdvs string `json:"insuplc_admdvs"`
		} `json:"insuinfo"`
	}
	start := time.Now()
	in := map[string]any{"data": map[string]any{"mdtrt_cert_type": "02", "mdtrt_cert_no": p.Certno}}
	if err := from.Query(ctx, 0, "1101", "", in, &out); err != nil {
		return "", fmt.Errorf("demo: 1101 without insuplc_admdvs at %s for a person of %s: %w", from.Admdvs, to.Admdvs, err)
	}
	if len(out.Insuinfo) == 0 || out.Insuinfo[0].InsuplcAdmdvs != p.Insuplc {
		return "", fmt.Errorf("demo: 1101 at %s for %s answered insured place %+v, want %s", from.Admdvs, p.PsnNo, out.Insuinfo, p.Insuplc)
	}
	return fmt.Sprintf("1101 without insuplc_admdvs at %s found person %s insured at %s through the national person index in %s",
		from.Admdvs, p.PsnNo, p.Insuplc, time.Since(start).Round(time.Millisecond)), nil
}
