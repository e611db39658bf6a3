package route

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// TestMixedVersionPayloads: during a rolling upgrade a hub of build N
// receives requests from provinces of build N+1. A newer minor version may
// add optional fields to a v1 payload: the hub decodes and processes it
// (here up to the directory lookup of the insured place, a business
// answer). An incompatible format carries a new envelope type, which the
// hub refuses before processing (the sender sees ErrNotDelivered and
// nothing is journaled) instead of misreading it.
func TestMixedVersionPayloads(t *testing.T) {
	c, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := NewStaticDirectory(nil)
	hub := startHub(t, c, dir)
	cl, err := NewClient(ClientOptions{Material: issue(t, c, "110000", ca.RoleProvince), Directory: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	addr, ok := dir.Lookup(NationalAdmdvs)
	if !ok {
		t.Fatal("hub not in the directory")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// send signs payload as envelope type typ and posts it to the hub.
	send := func(typ string, payload []byte) (int, []byte) {
		t.Helper()
		env, err := cl.c.signer.Sign(typ, payload)
		if err != nil {
			t.Fatal(err)
		}
		body, err := env.Encode()
		if err != nil {
			t.Fatal(err)
		}
		cl.c.expect.Store(addr, NationalAdmdvs)
		hr, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+PathHub, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := cl.c.http.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		rb, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, rb
	}
	newer := func(msgid string) []byte {
		t.Helper()
		req := settleReq("110105", "310100")
		req.Msgid = msgid
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		// Fields a later minor version might add.
		m["priority"] = "urgent"
		m["settle"].(map[string]any)["ext_field_v2"] = map[string]any{"a": 1}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	status, rb := send(TypeRequest, newer("H11010500123202403151030150002"))
	if status != http.StatusOK {
		t.Fatalf("newer v1 payload refused: HTTP %d: %s", status, rb)
	}
	renv, who, err := cl.c.verifier.VerifyBytes(rb, NationalAdmdvs)
	if err != nil || who.Admdvs != NationalAdmdvs || renv.Type != TypeReply {
		t.Fatalf("reply: %v %+v %q", err, who, renv.Type)
	}
	var reply Reply
	if err := json.Unmarshal(renv.Payload, &reply); err != nil {
		t.Fatal(err)
	}
	if reply.Code != settlement.EINVALID || !strings.Contains(reply.ErrMsg, "no federation node serves 310100") {
		t.Fatalf("newer v1 payload not processed: %+v", reply)
	}

	const v2 = "ybfed.route.request.v2"
	if status, rb := send(v2, newer("H11010500123202403151030150003")); status == http.StatusOK {
		t.Fatalf("envelope type %s accepted by a v1 hub: %s", v2, rb)
	}
	if st, _ := hub.JournalStatus(ctx, "H11010500123202403151030150003"); st != "" {
		t.Errorf("refused %s request journaled as %q", v2, st)
	}
}
