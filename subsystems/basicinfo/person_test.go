package basicinfo

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/ybfed/ybfed/crypto/pii"
	"github.com/ybfed/ybfed/node/store"
)

func TestCheckCertno(t *testing.T) {
	good := certno("440305", "19800101", 12)
	tests := []struct {
		in   string
		ok   bool
		brdy string
	}{
		{good, true, "1980-01-01"},
		{strings.ToLower(certno("110101", "19991231", 99)), true, "1999-12-31"},
		{good[:17] + "0", good[17] == '0', "1980-01-01"},
		{good[:17], false, ""},
		{"44030519800101A12X", false, ""},
		{certno("440305", "19801301", 1), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, b, err := CheckCertno(tt.in)
			if (err == nil) != tt.ok || (tt.ok && b != tt.brdy) {
				t.Fatalf("CheckCertno(%q) = %q, %v; want ok=%v %s", tt.in, b, err, tt.ok, tt.brdy)
			}
		})
	}
}

func TestPersonLifecycle(t *testing.T) {
	eachKind(t, func(t *testing.T, open func() *store.DB) {
		ctx := testCtx(t)
		db := open()
		n := start(t, db, "440300", Options{Keys: keyring(t, 1), NationalKeys: keyring(t, 9)})
		s := n.s
		cert := certno("440305", "19800101", 12)
		p, err := s.Enrol(ctx, person("440300", "张三", cert), "op1")
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != StatusActive || p.Brdy != "1980-01-01" || !strings.HasPrefix(p.PsnNo, "440300") {
			t.Fatalf("enrolled %+v", p)
		}
		if _, err := s.Enrol(ctx, person("440300", "张三", cert), "op1"); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("second enrolment: %v, want ErrDuplicate", err)
		}
		// Found by certificate number, also typed with a lower-case x or spaces.
		got, err := s.FindByCertno(ctx, " "+cert+" ")
		if err != nil || got.PsnNo != p.PsnNo || got.Name != "张三" {
			t.Fatalf("FindByCertno = %+v, %v", got, err)
		}
		// At rest: no name, certificate number, birthday or phone in clear.
		rows, err := db.Query(ctx, `SELECT psn_no, certno_bidx, nidx, insuplc_admdvs, status, pii, doc FROM bi_person`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var f [7]string
			if err := rows.Scan(&f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6]); err != nil {
				t.Fatal(err)
			}
			row := strings.Join(f[:], "|")
			for _, secret := range []string{"张三", cert, "1980-01-01", "13800138000"} {
				if strings.Contains(row, secret) {
					t.Fatalf("row holds %q in clear: %s", secret, row)
				}
			}
		}
		rows.Close()

		steps := []struct {
			name string
			do   func() (*Person, error)
			want string
			err  error
		}{
			{"resume active", func() (*Person, error) { return s.Resume(ctx, p.PsnNo, "op1", "") }, "", ErrTransition},
			{"suspend", func() (*Person, error) { return s.Suspend(ctx, p.PsnNo, "op1", "unemployed") }, StatusSuspended, nil},
			{"suspend twice", func() (*Person, error) { return s.Suspend(ctx, p.PsnNo, "op1", "") }, "", ErrTransition},
			{"resume", func() (*Person, error) { return s.Resume(ctx, p.PsnNo, "op2", "") }, StatusActive, nil},
			{"death bad date", func() (*Person, error) { return s.Death(ctx, p.PsnNo, "2026/01/01", "op1") }, "", ErrBadInput},
			{"death", func() (*Person, error) { return s.Death(ctx, p.PsnNo, "2026-11-30", "op1") }, StatusDead, nil},
			{"resume dead", func() (*Person, error) { return s.Resume(ctx, p.PsnNo, "op1", "") }, "", ErrTransition},
			{"unknown person", func() (*Person, error) { return s.Suspend(ctx, "440300000000000999", "op1", "") }, "", ErrNotFound},
			{"no operator", func() (*Person, error) { return s.Suspend(ctx, p.PsnNo, "", "") }, "", ErrBadInput},
		}
		for _, st := range steps {
			got, err := st.do()
			if st.err != nil {
				if !errors.Is(err, st.err) {
					t.Fatalf("%s: %v, want %v", st.name, err, st.err)
				}
				continue
			}
			if err != nil || got.Status != st.want {
				t.Fatalf("%s: %+v, %v; want %s", st.name, got, err, st.want)
			}
		}
		h, err := s.History(ctx, p.PsnNo)
		if err != nil || len(h) != 4 {
			t.Fatalf("history = %+v, %v", h, err)
		}
		kinds := []string{EventEnrol, EventSuspend, EventResume, EventDeath}
		for i, e := range h {
			if e.Kind != kinds[i] {
				t.Fatalf("history[%d] = %s, want %s", i, e.Kind, kinds[i])
			}
		}
		if h[2].Operator != "op2" || h[1].Note != "unemployed" {
			t.Fatalf("history lost operator or note: %+v", h)
		}
		ch, err := s.Changes(ctx, h[1].Seq, 10)
		if err != nil || len(ch) != 2 || ch[1].Person.Status != StatusDead || ch[1].Person.Name != "张三" {
			t.Fatalf("Changes = %+v, %v", ch, err)
		}
		// A different province's place is refused, naming the field.
		_, err = s.Enrol(ctx, person("110100", "李四", certno("110101", "19900202", 1)), "op1")
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "insuplc_admdvs" {
			t.Fatalf("foreign place: %v", err)
		}
	})
}

func TestPersonHTTP(t *testing.T) {
	eachKind(t, func(t *testing.T, open func() *store.DB) {
		n := start(t, open(), "440300", Options{Keys: keyring(t, 1)})
		cert := certno("440305", "19850505", 7)
		bad := []struct {
			name  string
			body  any
			field string
		}{
			{"bad certno", map[string]any{"operator": "op", "person": person("440300", "王五", cert[:17]+"Y")}, "person.certno"},
			{"no name", map[string]any{"operator": "op", "person": person("440300", "", cert)}, "person.psn_name"},
			{"unknown field", map[string]any{"operator": "op", "person": person("440300", "王五", cert), "x": 1}, "x"},
			{"wrong type", map[string]any{"operator": "op", "person": map[string]any{"months": "many"}}, "person.months"},
			{"no operator", map[string]any{"person": person("440300", "王五", cert)}, "operator"},
			{"bad money", map[string]any{"operator": "op", "person": map[string]any{"acct_balc": "1.234"}}, "person.acct_balc"},
			{"negative balance", map[string]any{"operator": "op", "person": func() Person { p := person("440300", "王五", cert); p.AcctBalc = -1; return p }()}, "person.acct_balc"},
		}
		for _, b := range bad {
			t.Run(b.name, func(t *testing.T) {
				var e errorBody
				code, raw := call(t, n.admin, "POST", "/basicinfo/v1/persons", b.body, nil)
				if code != http.StatusBadRequest || !strings.Contains(raw, `"field":"`+b.field+`"`) {
					t.Fatalf("code %d body %s, want 400 naming %s (%v)", code, raw, b.field, e)
				}
			})
		}
		var p Person
		if code, raw := call(t, n.admin, "POST", "/basicinfo/v1/persons", map[string]any{"operator": "op", "person": person("440300", "王五", cert)}, &p); code != http.StatusCreated {
			t.Fatalf("enrol: %d %s", code, raw)
		}
		if code, raw := call(t, n.admin, "POST", "/basicinfo/v1/persons", map[string]any{"operator": "op", "person": person("440300", "王五", cert)}, nil); code != http.StatusConflict {
			t.Fatalf("duplicate enrol: %d %s", code, raw)
		}
		var found Person
		if code, raw := call(t, n.admin, "POST", "/basicinfo/v1/persons/search", map[string]string{"certno": cert}, &found); code != 200 || found.PsnNo != p.PsnNo {
			t.Fatalf("search: %d %s", code, raw)
		}
		if code, _ := call(t, n.admin, "POST", "/basicinfo/v1/persons/search", map[string]string{"certno": certno("440305", "19850505", 8)}, nil); code != http.StatusNotFound {
			t.Fatalf("search unknown: %d", code)
		}
		if code, raw := call(t, n.admin, "POST", "/basicinfo/v1/persons/"+p.PsnNo+"/suspend", map[string]string{"operator": "op"}, &found); code != 200 || found.Status != StatusSuspended {
			t.Fatalf("suspend: %d %s", code, raw)
		}
		var counts map[string]int64
		if code, _ := call(t, n.admin, "GET", "/basicinfo/v1/counts", nil, &counts); code != 200 || counts[StatusSuspended] != 1 {
			t.Fatalf("counts %v", counts)
		}
	})
}

func TestRegisters(t *testing.T) {
	eachKind(t, func(t *testing.T, open func() *store.DB) {
		ctx := testCtx(t)
		n := start(t, open(), "440300", Options{Keys: keyring(t, 1)})
		s := n.s
		emps := []struct {
			e     Employer
			field string
		}{
			{Employer{Code: "E4403000001", Name: "深圳某公司", USCC: "91440300MA5ABCDE1X", Admdvs: "440300"}, ""},
			{Employer{Code: "e1", Name: "x", USCC: "91440300MA5ABCDE1X", Admdvs: "440300"}, "emp_code"},
			{Employer{Code: "E4403000002", Name: "x", USCC: "123", Admdvs: "440300"}, "uscc"},
			{Employer{Code: "E4403000003", Name: "x", USCC: "91440300MA5ABCDE1X", Admdvs: "110100"}, "admdvs"},
		}
		for _, tt := range emps {
			_, err := s.PutEmployer(ctx, tt.e)
			var fe *FieldError
			if tt.field == "" && err != nil || tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field) {
				t.Fatalf("PutEmployer(%+v) = %v, want field %q", tt.e, err, tt.field)
			}
		}
		if e, err := s.Employer(ctx, "E4403000001"); err != nil || e.Status != RegActive {
			t.Fatalf("Employer = %+v, %v", e, err)
		}
		insts := []struct {
			in    Institution
			field string
		}{
			{Institution{Code: "H44030500123", Name: "深圳市人民医院", Level: "3"}, ""},
			{Institution{Code: "H44030600001", Name: "南山医院", Level: "3"}, ""},
			{Institution{Code: "P44030500009", Name: "某大药房"}, ""},
			{Institution{Code: "H44030500124", Name: "x", Level: "7"}, "level"},
			{Institution{Code: "X44030500124", Name: "x"}, "fixmedins_code"},
			{Institution{Code: "H11010500124", Name: "x", Level: "1"}, "admdvs"},
			{Institution{Code: "P44030500010", Name: "x", Level: "1"}, "level"},
		}
		for _, tt := range insts {
			_, err := s.PutInstitution(ctx, tt.in)
			var fe *FieldError
			if tt.field == "" && err != nil || tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field) {
				t.Fatalf("PutInstitution(%+v) = %v, want field %q", tt.in, err, tt.field)
			}
		}
		var list struct{ Institutions []Institution }
		if code, raw := call(t, n.admin, "GET", "/basicinfo/v1/institutions?admdvs=440305", nil, &list); code != 200 || len(list.Institutions) != 2 {
			t.Fatalf("institutions of 440305: %d %s", code, raw)
		}
		if list.Institutions[1].Kind != "pharmacy" {
			t.Fatalf("kind %+v", list.Institutions)
		}
		if code, raw := call(t, n.admin, "GET", "/basicinfo/v1/institutions?admdvs=44x", nil, nil); code != 400 || !strings.Contains(raw, `"field":"admdvs"`) {
			t.Fatalf("bad prefix: %d %s", code, raw)
		}
		if code, raw := call(t, n.admin, "PUT", "/basicinfo/v1/institutions/H44030500123", map[string]any{"fixmedins_name": "深圳市人民医院", "level": "3", "status": "closed"}, nil); code != 200 {
			t.Fatalf("close: %d %s", code, raw)
		}
		if code, _ := call(t, n.admin, "GET", "/basicinfo/v1/institutions?admdvs=4403", nil, &list); code != 200 || len(list.Institutions) != 2 {
			t.Fatalf("after close: %+v", list)
		}
	})
}

// TestConcurrentEnrolments enrols from several goroutines at once: every
// enrolment gets its own psn_no and history seq (retried on conflicts).
func TestConcurrentEnrolments(t *testing.T) {
	eachKind(t, func(t *testing.T, open func() *store.DB) {
		ctx := testCtx(t)
		n := start(t, open(), "440300", Options{Keys: keyring(t, 1)})
		const workers, each = 4, 5
		errs := make(chan error, workers*each)
		done := make(chan struct{})
		for w := 0; w < workers; w++ {
			go func(w int) {
				defer func() { done <- struct{}{} }()
				for i := 0; i < each; i++ {
					_, err := n.s.Enrol(ctx, person("440300", "并发", certno("440305", "19900101", w*10+i)), "op")
					errs <- err
				}
			}(w)
		}
		for w := 0; w < workers; w++ {
			<-done
		}
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		c, err := n.s.Count(ctx)
		if err != nil || c[StatusActive] != workers*each {
			t.Fatalf("counts %v, %v", c, err)
		}
		ch, err := n.s.Changes(ctx, 0, 100)
		if err != nil || len(ch) != workers*each {
			t.Fatalf("%d changes, %v", len(ch), err)
		}
	})
}

// TestRotateKeys moves sealed PII to a new key; lookups keep working and
// the old key is no longer needed.
func TestRotateKeys(t *testing.T) {
	eachKind(t, func(t *testing.T, open func() *store.DB) {
		ctx := testCtx(t)
		db := open()
		k1 := bytes.Repeat([]byte{1}, 16)
		ix := bytes.Repeat([]byte{7}, 32)
		old, err := pii.NewKeyring("k1", map[string][]byte{"k1": k1}, ix)
		if err != nil {
			t.Fatal(err)
		}
		n := start(t, db, "440300", Options{Keys: old})
		certs := []string{certno("440305", "19800101", 1), certno("440305", "19800101", 2)}
		for _, c := range certs {
			if _, err := n.s.Enrol(ctx, person("440300", "王五", c), "op"); err != nil {
				t.Fatal(err)
			}
		}
		n.close()
		both, err := pii.NewKeyring("k2", map[string][]byte{"k1": k1, "k2": bytes.Repeat([]byte{2}, 16)}, ix)
		if err != nil {
			t.Fatal(err)
		}
		n = start(t, db, "440300", Options{Keys: both})
		for i, want := range []int{2, 0} {
			if got, err := n.s.RotateKeys(ctx); err != nil || got != want {
				t.Fatalf("rotation %d: %d, %v; want %d", i, got, err, want)
			}
		}
		n.close()
		onlyNew, err := pii.NewKeyring("k2", map[string][]byte{"k2": bytes.Repeat([]byte{2}, 16)}, ix)
		if err != nil {
			t.Fatal(err)
		}
		n = start(t, db, "440300", Options{Keys: onlyNew})
		for _, c := range certs {
			if p, err := n.s.FindByCertno(ctx, c); err != nil || p.Name != "王五" {
				t.Fatalf("after rotation: %+v, %v", p, err)
			}
		}
	})
}
