package ansible

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/federation/member"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/subsystems/settlement"
	"github.com/ybfed/ybfed/subsystems/settlement/service"
)

// This file drives settlements through the Ansible-installed federation
// the way a hospital does: signed NHSA requests to a provincial node's
// hospital port. The containers have no network but the national
// container's loopback, so every HTTP exchange is piped through
// `docker exec` into bash's /dev/tcp.

var cst = time.FixedZone("CST", 8*3600)

// center is one installed center as the tests reach it.
type center struct {
	host    string // inventory name
	admdvs  string
	box     string // container
	base    int    // port base: hospital = base, admin = base+4
	persons []service.SeedPerson
	hosp    *testHospital
}

func (c *center) admin() string    { return fmt.Sprint(c.base + 4) }
func (c *center) hospital() string { return fmt.Sprint(c.base) }

// testHospital is a hospital the test registered through the admin API.
type testHospital struct {
	code, name, admdvs string
	key                *sm.PrivateKey
	seq                atomic.Uint64
}

// errRetry marks an answer a hospital retries with the same msgid: no
// answer at all, a node shutting down, or a refusal that says so.
var errRetry = errors.New("retry with the same msgid")

// exchange sends one raw HTTP/1.0 request to 127.0.0.1:port inside box
// and parses the response.
func exchange(ctx context.Context, box, port string, req []byte) (*http.Response, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "exec", "-i", box, "bash", "-c",
		`exec 3<>/dev/tcp/127.0.0.1/`+port+` || exit 7; cat >&3; cat <&3`)
	cmd.Stdin = bytes.NewReader(req)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: docker exec to port %s: %v %s", errRetry, port, err, strings.TrimSpace(stderr.String()))
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: no HTTP answer from port %s: %v (%d bytes)", errRetry, port, err, len(out))
	}
	var body bytes.Buffer
	_, err = body.ReadFrom(resp.Body)
	if err != nil && body.Len() == 0 {
		return nil, nil, fmt.Errorf("%w: body from port %s: %v", errRetry, port, err)
	}
	return resp, body.Bytes(), nil
}

func rawRequest(method, path string, header map[string]string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n", method, path, len(body))
	for k, v := range header {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// adminJSON calls the center's admin API and decodes a 2xx answer into out.
func adminJSON(ctx context.Context, c *center, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	resp, b, err := exchange(ctx, c.box, c.admin(), rawRequest(method, path, map[string]string{"Content-Type": "application/json"}, body))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s on %s: HTTP %d: %s", method, path, c.admdvs, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// seedCenter writes synthetic persons with `ybnode seed` (run as the
// service user, next to the running node) and registers a hospital of
// the test's own through the admin API.
func seedCenter(ctx context.Context, t *testing.T, c *center, n int) {
	t.Helper()
	out, err := exec.CommandContext(ctx, "docker", "exec", "-u", "ybnode", c.box, "ybnode", "seed",
		"--config", "/etc/ybnode/ybnode.yaml", "--persons", fmt.Sprint(n), "--seed", "7").CombinedOutput()
	if err != nil {
		t.Fatalf("ybnode seed on %s: %v\n%s", c.admdvs, err, out)
	}
	var s struct {
		Admdvs  string               `json:"admdvs"`
		Persons []service.SeedPerson `json:"persons"`
	}
	if err := json.Unmarshal(out, &s); err != nil || s.Admdvs != c.admdvs || len(s.Persons) != n {
		t.Fatalf("ybnode seed on %s: %v\n%s", c.admdvs, err, out)
	}
	c.persons = s.Persons
	key, err := sm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	city := service.SeedCity(c.admdvs)
	h := &testHospital{code: "H" + city + "09001", name: city + "测试医院", admdvs: city, key: key}
	reg := service.HospitalRegistration{Code: h.code, Name: h.name, Admdvs: city, Level: 3, PublicKey: hex.EncodeToString(key.Public().Bytes())}
	if err := adminJSON(ctx, c, http.MethodPost, service.PathAdminHospitals, reg, nil); err != nil {
		t.Fatalf("register hospital: %v", err)
	}
	c.hosp = h
}

// call sends one signed transaction from c's hospital, retrying it with
// the same msgid as a hospital does while the answer says to (for at most
// two minutes), and decodes the output into out.
func call(ctx context.Context, c *center, infno, insuplc string, input, out any) (retries int, err error) {
	h := c.hosp
	msgid := fmt.Sprintf("%s%s%04d", h.code, time.Now().In(cst).Format("20060102150405"), h.seq.Add(1)%10000)
	in, err := json.Marshal(input)
	if err != nil {
		return 0, err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		req := settlement.Request{Infno: infno, Msgid: msgid, MdtrtareaAdmvs: h.admdvs, InsuplcAdmdvs: insuplc,
			RecerSysCode: "FSI_LOCAL", Infver: "V1.0", OpterType: "1", Opter: "0012", OpterName: "收费员",
			InfTime: time.Now().In(cst).Format(time.DateTime), FixmedinsCode: h.code, FixmedinsName: h.name, Input: in}
		err = func() error {
			body, err := json.Marshal(req)
			if err != nil {
				return err
			}
			sig, err := service.SignRequest(h.key, body)
			if err != nil {
				return err
			}
			resp, b, err := exchange(ctx, c.box, c.hospital(), rawRequest(http.MethodPost, service.Path, map[string]string{
				"Content-Type": "application/json", service.HeaderFixmedins: h.code, service.HeaderSignature: sig}, body))
			if err != nil {
				return err
			}
			var r settlement.Response
			if jerr := json.Unmarshal(b, &r); jerr != nil || resp.StatusCode == http.StatusServiceUnavailable {
				return fmt.Errorf("%w: HTTP %d: %.200s", errRetry, resp.StatusCode, b)
			}
			if r.Infcode != 0 {
				if strings.Contains(r.ErrMsg, "same msgid") {
					return fmt.Errorf("%w: %s", errRetry, r.ErrMsg)
				}
				return fmt.Errorf("%s msgid %s: infcode %d: %s", infno, msgid, r.Infcode, r.ErrMsg)
			}
			if out != nil {
				return json.Unmarshal(r.Output, out)
			}
			return nil
		}()
		if !errors.Is(err, errRetry) || time.Now().After(deadline) || ctx.Err() != nil {
			return retries, err
		}
		retries++
		time.Sleep(time.Second)
	}
}

// visit settles one outpatient visit at treat's hospital for person p
// (insured elsewhere for a routed settlement): 2201, 2204, 2207. It
// returns the settlement id and how many same-msgid retries it took.
func visit(ctx context.Context, treat *center, p service.SeedPerson, n int) (string, int, error) {
	var reg struct {
		Data struct {
			MdtrtID string `json:"mdtrt_id"`
		} `json:"data"`
	}
	now := time.Now().In(cst).Format(time.DateTime)
	r1, err := call(ctx, treat, "2201", p.Insuplc, map[string]any{"data": map[string]any{
		"psn_no": p.PsnNo, "insutype": p.Insutype, "begntime": now, "mdtrt_cert_type": "02", "mdtrt_cert_no": p.Certno,
		"ipt_otp_no": fmt.Sprintf("OP%d", n), "atddr_no": "D001", "dr_name": "李医生", "dept_code": "A01", "dept_name": "内科", "caty": "A01",
	}}, &reg)
	if err != nil {
		return "", r1, fmt.Errorf("2201: %w", err)
	}
	lines := []struct {
		code string
		pric fen.Fen
		cnt  string
	}{
		{"C01010100100000000001", fen.Yuan(50), "1"},
		{"XL01XC000A001010100001", fen.Yuan(30), "10"},
		{"003301000010000", fen.Yuan(150), "1"},
	}
	var fee []any
	for k, l := range lines {
		cnt := fen.MustParseQty(l.cnt)
		fee = append(fee, map[string]any{"feedetl_sn": fmt.Sprintf("CB01-%02d", k), "mdtrt_id": reg.Data.MdtrtID, "psn_no": p.PsnNo,
			"chrg_bchno": "CB01", "fee_ocur_time": now, "med_list_codg": l.code, "medins_list_codg": "HX" + l.code[:4],
			"det_item_fee_sumamt": l.pric.MulQty(cnt), "cnt": cnt, "pric": l.pric})
	}
	r2, err := call(ctx, treat, "2204", p.Insuplc, map[string]any{"feedetail": fee}, nil)
	if err != nil {
		return "", r1 + r2, fmt.Errorf("2204: %w", err)
	}
	tot := settlement.Totals{MedfeeSumamt: fen.Yuan(500), FulamtOwnpayAmt: fen.Yuan(50), PreselfpayAmt: fen.Yuan(30), InscpScpAmt: fen.Yuan(420)}
	var out struct {
		Setlinfo struct {
			SetlID string `json:"setl_id"`
		} `json:"setlinfo"`
	}
	r3, err := call(ctx, treat, "2207", p.Insuplc, map[string]any{"data": map[string]any{
		"psn_no": p.PsnNo, "mdtrt_cert_type": "02", "mdtrt_cert_no": p.Certno, "med_type": "11",
		"medfee_sumamt": tot.MedfeeSumamt, "psn_setlway": "01", "mdtrt_id": reg.Data.MdtrtID, "chrg_bchno": "CB01", "insutype": p.Insutype,
		"acct_used_flag": "1", "invono": "", "fulamt_ownpay_amt": tot.FulamtOwnpayAmt, "overlmt_selfpay": tot.OverlmtSelfpay,
		"preselfpay_amt": tot.PreselfpayAmt, "inscp_scp_amt": tot.InscpScpAmt,
	}}, &out)
	if err != nil {
		return "", r1 + r2 + r3, fmt.Errorf("2207: %w", err)
	}
	if out.Setlinfo.SetlID == "" {
		return "", r1 + r2 + r3, errors.New("2207: no setl_id")
	}
	return out.Setlinfo.SetlID, r1 + r2 + r3, nil
}

// versions returns the build each member reports in gossip, as the
// national node sees it (alive members only).
func versions(ctx context.Context, nat *center) (map[string]string, error) {
	var ms member.MemberList
	if err := adminJSON(ctx, nat, http.MethodGet, "/v1/members", nil, &ms); err != nil {
		return nil, err
	}
	v := map[string]string{}
	for _, m := range ms.Members {
		if m.State == member.StateAlive {
			v[m.Meta.Admdvs] = m.Meta.Version
		}
	}
	return v, nil
}

// traffic settles routed visits round the provinces until stopped,
// counting successes, same-msgid retries, failures, and settlements made
// while the federation ran more than one version.
type traffic struct {
	settled, retries, mixed atomic.Int64
	mu                      sync.Mutex
	failures                []string
	seen                    map[string]bool // version sets observed
	stop                    context.CancelFunc
	done                    chan struct{}
}

func startTraffic(ctx context.Context, nat *center, provs []*center) *traffic {
	ctx, cancel := context.WithCancel(ctx)
	tr := &traffic{stop: cancel, done: make(chan struct{}), seen: map[string]bool{}}
	go func() {
		defer close(tr.done)
		for i := 0; ctx.Err() == nil; i++ {
			treat, ins := provs[i%len(provs)], provs[(i+1)%len(provs)]
			vs, verr := versions(ctx, nat)
			_, r, err := visit(ctx, treat, ins.persons[i%len(ins.persons)], 100000+i)
			tr.retries.Add(int64(r))
			tr.mu.Lock()
			switch {
			case ctx.Err() != nil:
			case err != nil:
				tr.failures = append(tr.failures, fmt.Sprintf("%s→%s: %v", treat.admdvs, ins.admdvs, err))
			default:
				tr.settled.Add(1)
				if verr == nil {
					set := map[string]bool{}
					for _, v := range vs {
						set[v] = true
					}
					if len(set) > 1 {
						tr.mixed.Add(1)
					}
					tr.seen[fmt.Sprint(vs)] = true
				}
			}
			tr.mu.Unlock()
		}
	}()
	return tr
}

// finish stops the traffic and waits for the visit under way.
func (tr *traffic) finish() {
	tr.stop()
	<-tr.done
}
