package ca

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ybfed/ybfed/crypto/sm"
)

// tokenWorkerEnv makes the test binary act as one CA process of
// TestJoinTokensAcrossProcesses instead of running tests.
const tokenWorkerEnv = "YBFED_CA_TOKEN_WORKER"

// TestMain lets the test binary run as a token worker process.
func TestMain(m *testing.M) {
	if dir := os.Getenv(tokenWorkerEnv); dir != "" {
		if err := tokenWorker(dir, os.Getenv("YBFED_CA_TOKEN_FILE"), os.Getenv("YBFED_CA_TOKEN_ADMDVS")); err != nil {
			fmt.Fprintln(os.Stderr, "token worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// tokenWorker opens the CA in dir with its own file handles and, turn by
// turn, issues a new token and tries to redeem the next shared token of
// tokensFile. It prints "issued <token>" and "redeemed <token>" lines.
func tokenWorker(dir, tokensFile, admdvs string) error {
	c, err := Open(dir, testPass, Options{})
	if err != nil {
		return err
	}
	b, err := os.ReadFile(tokensFile)
	if err != nil {
		return err
	}
	key, err := sm.GenerateKey()
	if err != nil {
		return err
	}
	encKey, err := sm.GenerateKey()
	if err != nil {
		return err
	}
	signCSR, err := NewCSR(key, "node-"+admdvs, nil, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	encCSR, err := NewCSR(encKey, "node-"+admdvs, nil, nil)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for _, shared := range strings.Fields(string(b)) {
		tok, err := c.NewToken(admdvs, RoleProvince, time.Hour)
		if err != nil {
			return err
		}
		fmt.Fprintln(w, "issued", tok)
		_, err = c.Redeem(shared, signCSR, encCSR)
		switch {
		case err == nil:
			fmt.Fprintln(w, "redeemed", shared)
		case !errors.Is(err, ErrTokenUnknown):
			return err
		}
	}
	return nil
}

// TestJoinTokensAcrossProcesses runs two processes on one CA directory
// (as the national node and `ybnode join-token` do), both issuing tokens
// and racing to redeem the same shared tokens. Every shared token must be
// redeemed exactly once and every token issued by either process must
// still be redeemable afterwards: without the cross-process lock one
// process's rewrite of tokens.json drops the other's changes.
func TestJoinTokensAcrossProcesses(t *testing.T) {
	c := newTestCA(t, nil)
	const n = 40
	var shared []string
	for range n {
		tok, err := c.NewToken("110000", RoleProvince, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		shared = append(shared, tok)
	}
	// The second process walks the shared tokens backwards so that the
	// two meet in the middle and race on the same tokens.
	rev := make([]string, n)
	for i, tok := range shared {
		rev[n-1-i] = tok
	}
	dir := t.TempDir()
	files := []string{filepath.Join(dir, "fwd"), filepath.Join(dir, "rev")}
	for i, list := range [][]string{shared, rev} {
		if err := os.WriteFile(files[i], []byte(strings.Join(list, "\n")), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 2)
	for i, admdvs := range []string{"440000", "510000"} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), tokenWorkerEnv+"="+c.Dir(), "YBFED_CA_TOKEN_FILE="+files[i], "YBFED_CA_TOKEN_ADMDVS="+admdvs)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		go func() {
			out, err := cmd.Output()
			if err != nil {
				err = fmt.Errorf("%w: %s", err, stderr.String())
			}
			done <- result{out, err}
		}()
	}
	// Wait for both workers before judging, so that none still writes
	// into the CA directory when the test removes it.
	var results []result
	for range 2 {
		results = append(results, <-done)
	}
	redeemed := map[string]int{}
	var issued []string
	for _, r := range results {
		if r.err != nil {
			t.Fatal(r.err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(r.out)), "\n") {
			kind, tok, _ := strings.Cut(line, " ")
			switch kind {
			case "issued":
				issued = append(issued, tok)
			case "redeemed":
				redeemed[tok]++
			default:
				t.Fatalf("worker line %q", line)
			}
		}
	}
	for i, tok := range shared {
		if redeemed[tok] != 1 {
			t.Errorf("shared token %d redeemed %d times", i, redeemed[tok])
		}
	}
	if len(issued) != 2*n {
		t.Fatalf("issued %d tokens, want %d", len(issued), 2*n)
	}
	signKey, _ := sm.GenerateKey()
	encKey, _ := sm.GenerateKey()
	signCSR, _ := NewCSR(signKey, "node-check", nil, nil)
	encCSR, _ := NewCSR(encKey, "node-check", nil, nil)
	for i, tok := range issued {
		if _, err := c.Redeem(tok, signCSR, encCSR); err != nil {
			t.Errorf("token %d issued by a worker lost: %v", i, err)
		}
	}
	for i, tok := range shared {
		if _, err := c.Redeem(tok, signCSR, encCSR); !errors.Is(err, ErrTokenUnknown) {
			t.Errorf("shared token %d redeemable again: %v", i, err)
		}
	}
}
