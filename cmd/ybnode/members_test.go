package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ybfed/ybfed/node"
	"github.com/ybfed/ybfed/node/demo"
)

// TestMembersAndKeyRotation runs `ybnode members` and `ybnode federation
// keys rotate` against a small in-process federation.
func TestMembersAndKeyRotation(t *testing.T) {
	f, err := demo.Start(context.Background(), demo.Options{Provinces: 2, ReadyTimeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	admin := "http://" + f.Nodes[0].Addr(node.Admin)
	run := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := realMain(args, &out, &errb)
		return out.String() + errb.String(), code
	}
	out, code := run("members", "--admin", admin)
	if code != 0 || !strings.Contains(out, "3 members, joined true") {
		t.Fatalf("members: exit %d\n%s", code, out)
	}
	for _, a := range []string{"100000", "110000", "120000"} {
		if !strings.Contains(out, a) {
			t.Fatalf("members lacks %s:\n%s", a, out)
		}
	}
	before, _ := run("federation", "keys", "list", "--admin", admin)
	out, code = run("federation", "keys", "rotate", "--admin", admin)
	if code != 0 {
		t.Fatalf("rotate: exit %d\n%s", code, out)
	}
	after, _ := run("federation", "keys", "list", "--admin", admin)
	if before == after {
		t.Fatalf("keyring unchanged by rotation:\n%s", after)
	}
	// A province may not change the federation keyring.
	out, code = run("federation", "keys", "rotate", "--admin", "http://"+f.Nodes[1].Addr(node.Admin))
	if code == 0 {
		t.Fatalf("province rotated the keyring:\n%s", out)
	}
	if _, code = run("members"); code != 2 {
		t.Fatalf("members without --config/--admin: exit %d, want 2", code)
	}
}
