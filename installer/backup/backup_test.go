package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
)

const accounts = 20
const total = accounts * 1000

// nodeConfig is a provincial node's configuration with its data in dir.
func nodeConfig(t *testing.T, dir string, sc store.Config) *config.Config {
	t.Helper()
	cfg := &config.Config{DataDir: dir}
	cfg.Node.Admdvs = "440000"
	cfg.Listen.Admin = "127.0.0.1:0"
	cfg.TLS.Dir = filepath.Join(dir, "tls")
	cfg.Storage.Driver = string(sc.Driver)
	cfg.Storage.Path = sc.Path
	cfg.Storage.URL = sc.URL
	return cfg
}

// loaded opens a store with accounts whose balances always sum to total,
// and keeps moving money and appending to a journal until stop is called.
func loaded(t *testing.T, sc store.Config) (db *store.DB, stop func() int64) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, sc, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	err = db.Tx(ctx, func(tx *store.Tx) error {
		for _, q := range []string{
			"CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance BIGINT NOT NULL)",
			"CREATE TABLE journal (seq INTEGER PRIMARY KEY, src INTEGER NOT NULL, dst INTEGER NOT NULL, amount BIGINT NOT NULL, note TEXT, data BLOB)",
		} {
			if tx.Kind() != store.SQLite {
				q = strings.ReplaceAll(q, "BLOB", "BYTEA")
			}
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		for i := 0; i < accounts; i++ {
			if _, err := tx.Exec(ctx, "INSERT INTO accounts (id, balance) VALUES (?, ?)", i, total/accounts); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var done atomic.Bool
	var moves atomic.Int64
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100000 && !done.Load(); i++ {
				seq := moves.Add(1)
				src, dst := int(seq)%accounts, int(seq*7+3)%accounts
				err := db.Tx(ctx, func(tx *store.Tx) error {
					if _, err := tx.Exec(ctx, "UPDATE accounts SET balance = balance - ? WHERE id = ?", 1, src); err != nil {
						return err
					}
					if _, err := tx.Exec(ctx, "UPDATE accounts SET balance = balance + ? WHERE id = ?", 1, dst); err != nil {
						return err
					}
					_, err := tx.Exec(ctx, "INSERT INTO journal (seq, src, dst, amount, note, data) VALUES (?, ?, ?, ?, ?, ?)",
						seq, src, dst, 1, fmt.Sprintf("move %d", seq), []byte{byte(seq), 0, byte(seq >> 8)})
					return err
				})
				if err != nil {
					t.Errorf("writer: %v", err)
					return
				}
			}
		}()
	}
	return db, func() int64 { done.Store(true); wg.Wait(); return moves.Load() }
}

// waitRows polls until the journal has at least n rows (bounded).
func waitRows(t *testing.T, db *store.DB, n int64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var c int64
		if err := db.QueryRow(context.Background(), "SELECT COUNT(*) FROM journal").Scan(&c); err == nil && c >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("journal never reached %d rows", n)
}

func checkInvariant(t *testing.T, db Querier, kind store.Kind) {
	t.Helper()
	rs, err := db.QueryContext(context.Background(), "SELECT COALESCE(SUM(balance), 0) FROM accounts")
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var sum int64
	if !rs.Next() || rs.Scan(&sum) != nil || sum != total {
		t.Fatalf("restored balances sum to %d, want %d: not a consistent snapshot", sum, total)
	}
}

func TestBackupUnderLoadRestoresIdentically(t *testing.T) {
	for _, kind := range []store.Kind{store.SQLite, store.Postgres} {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			sc := storetest.Config(t, kind)
			src := t.TempDir()
			if kind == store.SQLite {
				sc.Path = filepath.Join(src, "ybnode.db")
			}
			db, stop := loaded(t, sc)
			cfg := nodeConfig(t, src, sc)
			if err := os.MkdirAll(cfg.TLS.Dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(cfg.TLS.Dir, "sign.key"), []byte("encrypted key"), 0o600); err != nil {
				t.Fatal(err)
			}
			waitRows(t, db, 50)
			archive := filepath.Join(t.TempDir(), "b.tar.gz")
			m, err := Backup(ctx, Options{Config: cfg}, archive)
			moved := stop()
			if err != nil {
				t.Fatal(err)
			}
			if m.Content.Tables["journal"] < 50 || m.Content.Tables["accounts"] != accounts {
				t.Fatalf("manifest content %+v", m.Content)
			}
			t.Logf("backup saw %d of %d moves", m.Content.Tables["journal"], moved)
			for _, f := range m.Files {
				if strings.HasPrefix(f.Name, keysDir) {
					t.Errorf("keys archived without --include-keys: %s", f.Name)
				}
			}

			// The source kept changing after the snapshot: its content differs.
			now, err := Summarize(ctx, db.SQL(), kind)
			if err != nil {
				t.Fatal(err)
			}
			if now.Tables["journal"] != moved {
				t.Errorf("source journal %d rows, %d moves", now.Tables["journal"], moved)
			}
			if moved > m.Content.Tables["journal"] && now.Equal(m.Content) {
				t.Error("summary does not tell different contents apart")
			}

			// Restore into a stopped node of the same center: a fresh data
			// directory for SQLite; for PostgreSQL the same schema (a dump
			// names its schema), taken back to the snapshot.
			dst := t.TempDir()
			sc2 := sc
			if kind == store.SQLite {
				sc2.Path = filepath.Join(dst, "ybnode.db")
			}
			cfg2 := nodeConfig(t, dst, sc2)
			if _, err := Restore(ctx, RestoreOptions{Options: Options{Config: cfg2}, Verify: true}, archive); err != nil {
				t.Fatal(err)
			}
			rdb, err := store.Open(ctx, sc2, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer rdb.Close()
			got, err := Summarize(ctx, rdb.SQL(), kind)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(m.Content) {
				t.Fatalf("restored content %+v, archived %+v", got, m.Content)
			}
			checkInvariant(t, rdb.SQL(), kind)
		})
	}
}

func TestKeysOnlyWhenAsked(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	sc := store.Config{Driver: store.SQLite, Path: filepath.Join(src, "ybnode.db")}
	_, stop := loaded(t, sc)
	stop()
	cfg := nodeConfig(t, src, sc)
	if err := os.MkdirAll(cfg.TLS.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"sign.key", "sign.pem", "passphrase"} {
		if err := os.WriteFile(filepath.Join(cfg.TLS.Dir, n), []byte(n+" bytes"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	archive := filepath.Join(t.TempDir(), "k.tar.gz")
	m, err := Backup(ctx, Options{Config: cfg, IncludeKeys: true}, archive)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range m.Files {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "db/ybnode.db,keys/sign.key,keys/sign.pem" {
		t.Fatalf("archived %s", got)
	}
	dst := t.TempDir()
	cfg2 := nodeConfig(t, dst, store.Config{Driver: store.SQLite, Path: filepath.Join(dst, "ybnode.db")})
	if _, err := Restore(ctx, RestoreOptions{Options: Options{Config: cfg2}, Verify: true}, archive); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(cfg2.TLS.Dir, "sign.key")); err != nil || string(b) != "sign.key bytes" {
		t.Fatalf("restored key %q %v", b, err)
	}
}

// rewrite copies an archive, changing entries with edit.
func rewrite(t *testing.T, in, out string, edit func(name string, body []byte) []byte) {
	t.Helper()
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var buf bytes.Buffer
	gw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gw)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		b = edit(h.Name, b)
		h.Size = int64(len(b))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	gw.Close()
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTamperedArchiveRefused(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	sc := store.Config{Driver: store.SQLite, Path: filepath.Join(src, "ybnode.db")}
	db, stop := loaded(t, sc)
	waitRows(t, db, 20)
	stop()
	cfg := nodeConfig(t, src, sc)
	good := filepath.Join(t.TempDir(), "good.tar.gz")
	if _, err := Backup(ctx, Options{Config: cfg}, good); err != nil {
		t.Fatal(err)
	}
	flip := func(name string, b []byte) []byte {
		if name == SQLiteName {
			b = append([]byte(nil), b...)
			b[len(b)/2] ^= 0x40
		}
		return b
	}
	tests := []struct {
		name string
		edit func(string, []byte) []byte
	}{
		{"flipped database byte", flip},
		{"manifest content changed", func(name string, b []byte) []byte {
			if name == ManifestName {
				return bytes.Replace(b, []byte(`"journal": `), []byte(`"journal": 1`), 1)
			}
			return b
		}},
		{"extra entry", func(name string, b []byte) []byte {
			if name == SQLiteName {
				return append(b, 0)
			}
			return b
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bad := filepath.Join(t.TempDir(), "bad.tar.gz")
			rewrite(t, good, bad, tc.edit)
			dst := t.TempDir()
			target := filepath.Join(dst, "ybnode.db")
			if err := os.WriteFile(target, []byte("current data"), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg2 := nodeConfig(t, dst, store.Config{Driver: store.SQLite, Path: target})
			_, err := Restore(ctx, RestoreOptions{Options: Options{Config: cfg2}, Verify: true}, bad)
			if !errors.Is(err, ErrTampered) {
				t.Fatalf("err = %v, want ErrTampered", err)
			}
			if b, _ := os.ReadFile(target); string(b) != "current data" {
				t.Fatal("a refused restore touched the database")
			}
		})
	}
	// The untouched archive verifies.
	if _, err := VerifyArchive(ctx, good, t.TempDir()); err != nil {
		t.Fatal(err)
	}
}

func TestRestoreRefusesRunningNode(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	dst := t.TempDir()
	cfg := nodeConfig(t, dst, store.Config{Driver: store.SQLite, Path: filepath.Join(dst, "ybnode.db")})
	cfg.Listen.Admin = l.Addr().String()
	_, err = Restore(context.Background(), RestoreOptions{Options: Options{Config: cfg}}, filepath.Join(dst, "none.tar.gz"))
	if !errors.Is(err, ErrNodeRunning) {
		t.Fatalf("err = %v", err)
	}
}
