package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ybfed/ybfed/crypto/envelope"
	"github.com/ybfed/ybfed/crypto/nidx"
	"github.com/ybfed/ybfed/node"
	"github.com/ybfed/ybfed/node/demo"
	"github.com/ybfed/ybfed/subsystems/basicinfo"
)

// payload is one request or answer that reached or left the national
// node's internode API, with signed envelopes opened.
type payload struct {
	kind string // path, plus the routed request kind
	text string // the body and any envelope payload, as text
}

// recorder is a component of the national node that records every
// internode request body and answer body it handles.
type recorder struct {
	mu   sync.Mutex
	seen []payload
}

func (r *recorder) Name() string                { return "test-recorder" }
func (r *recorder) Ready(context.Context) error { return nil }
func (r *recorder) Stop(context.Context) error  { return nil }
func (r *recorder) Start(_ context.Context, h *node.Host) error {
	h.Internode.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			body, _ := io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(body))
			tee := &teeWriter{ResponseWriter: w}
			next.ServeHTTP(tee, req)
			r.add(req.URL.Path, body, tee.buf.Bytes())
		})
	})
	return nil
}

func (r *recorder) add(path string, req, answer []byte) {
	kind := path
	if strings.HasPrefix(path, basicinfo.PathIndex+"/") {
		kind = basicinfo.PathIndex + "/{nidx}"
	}
	if env, err := envelope.Decode(req); err == nil {
		var k struct {
			Kind string `json:"kind"`
		}
		if json.Unmarshal(env.Payload, &k) == nil && k.Kind != "" {
			kind += " kind=" + k.Kind
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, payload{kind: kind + " request", text: opened(req)}, payload{kind: kind + " answer", text: opened(answer)})
}

// opened is a body as text, with a signed envelope's payload added.
func opened(body []byte) string {
	text := string(body)
	if env, err := envelope.Decode(body); err == nil {
		text += "\n" + env.Type + "\n" + string(env.Payload)
	}
	return text
}

func (r *recorder) all() []payload {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]payload(nil), r.seen...)
}

type teeWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (t *teeWriter) Write(b []byte) (int, error) {
	t.buf.Write(b)
	return t.ResponseWriter.Write(b)
}

// startRecorded starts a national node and two provinces with a recorder
// of every internode body the national node handles.
func startRecorded(ctx context.Context, t *testing.T) (*demo.Federation, *recorder) {
	t.Helper()
	rec := &recorder{}
	f, err := demo.Start(ctx, demo.Options{Provinces: 2, Dir: t.TempDir(), ReadyTimeout: 60 * time.Second,
		NationalComponents: []node.Component{rec}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	})
	return f, rec
}

// TestNationalPersonIndex runs the national person index on a real
// federation (national node and two provinces over GM TLS, enrolled with
// join tokens): every province receives the same federation index key at
// enrolment and keeps it sealed; seeded persons are pushed to the national
// index; a hospital in one province gets 1101 for a person of the other
// without insuplc_admdvs, answered exactly like the insured province's
// local 1101; an unknown person gets infcode -1; a person enrolled in both
// provinces is flagged; and no certificate number, name or phone appears
// in any payload that reaches or leaves the national node.
func TestNationalPersonIndex(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f, rec := startRecorded(ctx, t)
	s, err := f.Seed(ctx, demo.SeedOptions{Persons: 12, Seed: 5, CatalogScale: -1, Progress: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	a, b := s.Provinces[0], s.Provinces[1]
	natReg := f.Nodes[0].Parts().BasicInfo

	// One federation key everywhere, sealed on disk.
	var ids []string
	for _, n := range f.Nodes {
		k := n.IndexKeys()
		if k == nil {
			t.Fatalf("%s has no person-index key", n.Config().Node.Admdvs)
		}
		ids = append(ids, k.BlindIndex(basicinfo.FieldNationalIndex, "11010519491231002X"))
		file := filepath.Join(n.Config().DataDir, "tls", nidx.File)
		if n == f.Nodes[0] {
			file = filepath.Join(f.CA.Dir(), nidx.File)
		}
		st, err := os.Stat(file)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: key file %s: %v %v", n.Config().Node.Admdvs, file, st, err)
		}
		raw, _ := os.ReadFile(file)
		if bytes.Contains(raw, []byte(`"keys"`)) || bytes.Contains(raw, k.Marshal()[30:60]) {
			t.Fatalf("%s: key file holds the key in clear", n.Config().Node.Admdvs)
		}
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Fatalf("index ids differ between nodes: %v", ids)
	}

	// Seeded persons are in the national index.
	// Seeded persons are in the national index (pushed by the seed, or by
	// the register's loop when gossip was slow to list the national node).
	pB := b.Persons[0]
	var entries []basicinfo.IndexEntry
	for i := 0; i < 120; i++ {
		if entries, err = natReg.Locate(ctx, f.Nodes[2].IndexKeys().BlindIndex(basicinfo.FieldNationalIndex, pB.Certno)); err == nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil || entries[0].Admdvs != pB.Insuplc || entries[0].Status != basicinfo.StatusActive {
		t.Fatalf("national index for %s: %+v %v", pB.PsnNo, entries, err)
	}

	// 1101 without insuplc_admdvs from a hospital of province a.
	q := map[string]any{"data": map[string]any{"mdtrt_cert_type": "02", "mdtrt_cert_no": pB.Certno, "psn_cert_type": "01", "certno": pB.Certno, "psn_name": pB.Name}}
	var routed, local json.RawMessage
	// On a loaded machine gossip may not list the national node for a
	// moment; the answer then says it cannot be reached, and a retry works.
	for i := 0; ; i++ {
		err = a.Query(ctx, 0, "1101", "", q, &routed)
		if err == nil || i == 30 || !strings.Contains(err.Error(), "cannot be reached") {
			break
		}
		time.Sleep(time.Second)
	}
	if err != nil {
		t.Fatalf("1101 without insuplc: %v", err)
	}
	if err := b.Query(ctx, 0, "1101", pB.Insuplc, q, &local); err != nil {
		t.Fatalf("local 1101: %v", err)
	}
	if !bytes.Equal(routed, local) {
		t.Fatalf("routed 1101 differs from the local one:\n%s\n%s", routed, local)
	}
	var info struct {
		Baseinfo struct {
			PsnNo   string `json:"psn_no"`
			Certno  string `json:"certno"`
			PsnName string `json:"psn_name"`
		} `json:"baseinfo"`
		Insuinfo []struct {
			InsuplcAdmdvs string `json:"insuplc_admdvs"`
		} `json:"insuinfo"`
	}
	if err := json.Unmarshal(routed, &info); err != nil || info.Baseinfo.PsnNo != pB.PsnNo || info.Baseinfo.Certno != pB.Certno ||
		info.Baseinfo.PsnName != pB.Name || len(info.Insuinfo) == 0 || info.Insuinfo[0].InsuplcAdmdvs != pB.Insuplc {
		t.Fatalf("1101 answer %s (%v)", routed, err)
	}
	// Naming the insured place works the same way.
	var named json.RawMessage
	if err := a.Query(ctx, 1, "1101", pB.Insuplc, q, &named); err != nil || !bytes.Equal(named, local) {
		t.Fatalf("1101 with insuplc: %v %s", err, named)
	}
	// The living demo's own check.
	if line, err := s.CheckPersonIndex(ctx); err != nil {
		t.Fatal(err)
	} else {
		t.Log(line)
	}
	// A person no province enrols.
	unknown := map[string]any{"data": map[string]any{"mdtrt_cert_type": "02", "mdtrt_cert_no": "11010519491231002X"}}
	err = a.Query(ctx, 0, "1101", "", unknown, nil)
	if err == nil || !strings.Contains(err.Error(), "infcode -1") || !strings.Contains(err.Error(), "the national person index knows no insured place") {
		t.Fatalf("unknown person: %v", err)
	}

	// The same person enrolled in province a as well is flagged.
	regA := f.Nodes[1].Parts().BasicInfo
	const phone = "13912345678"
	if _, err := regA.Enrol(ctx, basicinfo.Person{Certno: pB.Certno, Name: pB.Name, Gend: pB.Gend, Insutype: "390",
		InsuplcAdmdvs: a.Persons[0].Insuplc, Phone: phone}, "op01"); err != nil {
		t.Fatal(err)
	}
	reply, err := regA.PushIndex(ctx, 0)
	if err != nil || len(reply.Duplicates) != 1 || strings.Join(reply.Duplicates[0].Provinces, ",") != a.Admdvs+","+b.Admdvs {
		t.Fatalf("push of the duplicate: %+v %v", reply, err)
	}
	dups, err := natReg.NationalDuplicates(ctx, 0)
	if err != nil || len(dups) != 1 || len(dups[0].Provinces) != 2 {
		t.Fatalf("national duplicates: %+v %v", dups, err)
	}
	local2, err := regA.Duplicates(ctx)
	if err != nil || len(local2) != 1 || strings.Join(local2[0].Provinces, ",") != a.Admdvs+","+b.Admdvs {
		t.Fatalf("province a's flagged persons: %+v %v", local2, err)
	}

	// Routed settlements, cancels and reversals add the hub's other
	// payload types to what is inspected.
	tr, err := demo.NewTraffic(s, demo.TrafficOptions{Count: 12, Concurrency: 2, RoutedShare: 1, CancelShare: 0.25, ReverseShare: 0.25, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(ctx); err != nil {
		t.Fatal(err)
	}
	// Only what crossed the hub matters here; a settlement that timed out
	// on a loaded machine is reversed and changes nothing below.
	if st := tr.Stats(); st.Routed.Settled == 0 {
		t.Fatalf("routed traffic: %s %v", st.Summary(), st.Errors)
	} else if st.Failed() != 0 {
		t.Logf("routed traffic: %s %v", st.Summary(), st.Errors)
	}

	// No plaintext personal data reached or left the national node.
	var secrets []string
	for _, p := range s.Provinces {
		for _, ps := range p.Persons {
			secrets = append(secrets, ps.Certno, ps.Name)
		}
	}
	secrets = append(secrets, phone, "11010519491231002X")
	// The payload types the national person index adds must be among
	// them; every payload is searched (TestNoPlaintextLeavesProvince
	// covers the other internode traffic and the national node's files).
	covered := []string{
		basicinfo.PathIndex + " request", basicinfo.PathIndex + " answer",
		basicinfo.PathIndex + "/{nidx} request", basicinfo.PathIndex + "/{nidx} answer",
		"/internode/v1/settlement/hub kind=person request", "/internode/v1/settlement/hub kind=person answer",
	}
	kinds := map[string]int{}
	for _, p := range rec.all() {
		kinds[p.kind]++
		for _, sec := range secrets {
			if strings.Contains(p.text, sec) {
				t.Errorf("%s carries %q", p.kind, sec)
			}
		}
	}
	var names []string
	for k, n := range kinds {
		names = append(names, k+" ×"+strconv.Itoa(n))
	}
	sort.Strings(names)
	t.Logf("payloads inspected at the national node:\n  %s", strings.Join(names, "\n  "))
	for _, want := range covered {
		if kinds[want] == 0 {
			t.Errorf("no %q payload was inspected", want)
		}
	}
}
