package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/internal/version"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/node/store"
)

// Archive member names.
const (
	ManifestName = "MANIFEST.json"
	SQLiteName   = "db/ybnode.db"
	PGDumpName   = "db/postgres.dump"
	ConfigName   = "config/ybnode.yaml"
	keysDir      = "keys/"
	caDir        = "ca/"
	// FormatVersion is the archive layout version.
	FormatVersion = 1
)

// Errors a restore reports.
var (
	// ErrTampered means the archive does not match its manifest.
	ErrTampered = errors.New("backup archive does not match its manifest")
	// ErrNodeRunning means the node whose data would be replaced is running.
	ErrNodeRunning = errors.New("node is running")
)

// File is one archived file.
type File struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	SM3  string `json:"sm3"`
}

// Manifest describes an archive.
type Manifest struct {
	Format  int       `json:"format"`
	Admdvs  string    `json:"admdvs"`
	Driver  string    `json:"driver"`
	Created time.Time `json:"created"`
	Version string    `json:"version"`
	Keys    bool      `json:"keys"`
	Files   []File    `json:"files"`
	// Content is the logical summary of the database at the snapshot.
	Content Summary `json:"content"`
}

// Options say what to back up or restore.
type Options struct {
	// Config is the node's configuration.
	Config *config.Config
	// ConfigFile is archived alongside when set.
	ConfigFile string
	// IncludeKeys archives tls.dir (and ca.dir) too; keys stay encrypted.
	IncludeKeys bool
	// Log receives progress.
	Log *slog.Logger
}

func (o *Options) log() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}

// Backup writes an archive of the node's database (and what Options ask
// for) to out, reading while the node runs.
func Backup(ctx context.Context, o Options, out string) (*Manifest, error) {
	cfg := o.Config
	work, err := os.MkdirTemp(filepath.Dir(out), ".ybnode-backup-*")
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(work)
	sc := cfg.StoreConfig()
	m := &Manifest{Format: FormatVersion, Admdvs: cfg.Node.Admdvs, Driver: string(sc.Driver), Created: time.Now().UTC(),
		Version: version.Get().Version, Keys: o.IncludeKeys}
	files := map[string]string{} // archive name -> local path
	switch sc.Driver {
	case store.SQLite:
		snap := filepath.Join(work, "ybnode.db")
		if err := snapshotSQLite(ctx, sc.Path, snap); err != nil {
			return nil, err
		}
		db, err := openSQLite(snap, true)
		if err != nil {
			return nil, err
		}
		m.Content, err = Summarize(ctx, db, store.SQLite)
		db.Close()
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		files[SQLiteName] = snap
	case store.Postgres, store.Cockroach:
		dump := filepath.Join(work, "postgres.dump")
		if m.Content, err = dumpPostgres(ctx, sc.URL, dump); err != nil {
			return nil, err
		}
		files[PGDumpName] = dump
	default:
		return nil, fmt.Errorf("backup: unknown storage driver %q", sc.Driver)
	}
	if o.ConfigFile != "" {
		files[ConfigName] = o.ConfigFile
	}
	if o.IncludeKeys {
		for prefix, dir := range map[string]string{keysDir: cfg.TLS.Dir, caDir: cfg.CA.Dir} {
			if dir == "" {
				continue
			}
			ents, err := os.ReadDir(dir)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("backup keys: %w", err)
			}
			for _, e := range ents {
				if e.Type().IsRegular() && e.Name() != "passphrase" {
					files[prefix+e.Name()] = filepath.Join(dir, e.Name())
				}
			}
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f, err := hashFile(files[n])
		if err != nil {
			return nil, err
		}
		f.Name = n
		m.Files = append(m.Files, f)
	}
	if err := writeArchive(out, m, files); err != nil {
		return nil, err
	}
	o.log().Info("backup written", "out", out, "driver", m.Driver, "files", len(m.Files), "keys", m.Keys)
	return m, nil
}

func openSQLite(p string, readOnly bool) (*sql.DB, error) {
	dsn := "file:" + p + "?_pragma=busy_timeout(10000)"
	if readOnly {
		dsn += "&_pragma=query_only(1)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// snapshotSQLite copies the live database with VACUUM INTO: one read
// transaction, so the copy is a consistent snapshot while writers go on
// (WAL mode), and the copy is compact and self-contained (no -wal file).
func snapshotSQLite(ctx context.Context, src, dst string) error {
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("backup: database: %w", err)
	}
	db, err := openSQLite(src, false)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("backup: VACUUM INTO: %w", err)
	}
	return nil
}

// libpqURL turns a URL with a search_path parameter (understood by pgx but
// not libpq) into one libpq accepts, and returns the schema.
func libpqURL(raw string) (string, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("storage.url: %w", err)
	}
	q := u.Query()
	schema := q.Get("search_path")
	if schema != "" {
		q.Del("search_path")
		q.Set("options", "-csearch_path="+schema)
		u.RawQuery = q.Encode()
	}
	return u.String(), schema, nil
}

// dumpPostgres runs pg_dump on a snapshot exported by a repeatable-read
// transaction and summarises the same snapshot.
func dumpPostgres(ctx context.Context, dsn, out string) (Summary, error) {
	if _, err := exec.LookPath("pg_dump"); err != nil {
		return Summary{}, errors.New("backup: pg_dump not found: install the postgresql-client package")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return Summary{}, fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return Summary{}, fmt.Errorf("backup: begin snapshot: %w", err)
	}
	defer tx.Rollback()
	var snap string
	if err := tx.QueryRowContext(ctx, "SELECT pg_export_snapshot()").Scan(&snap); err != nil {
		return Summary{}, fmt.Errorf("backup: export snapshot: %w", err)
	}
	sum, err := Summarize(ctx, tx, store.Postgres)
	if err != nil {
		return Summary{}, fmt.Errorf("backup: %w", err)
	}
	lu, schema, err := libpqURL(dsn)
	if err != nil {
		return Summary{}, err
	}
	args := []string{"--format=custom", "--no-owner", "--no-privileges", "--snapshot=" + snap, "--file=" + out}
	if schema != "" {
		args = append(args, "--schema="+schema)
	}
	args = append(args, "--dbname="+lu)
	if b, err := exec.CommandContext(ctx, "pg_dump", args...).CombinedOutput(); err != nil {
		return Summary{}, fmt.Errorf("backup: pg_dump: %w: %s", err, strings.TrimSpace(string(b)))
	}
	return sum, nil
}

func openPG(dsn string) (*sql.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL: %w", err)
	}
	return db, nil
}

func hashFile(p string) (File, error) {
	f, err := os.Open(p)
	if err != nil {
		return File{}, fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	h := sm.NewHash()
	n, err := io.Copy(h, f)
	if err != nil {
		return File{}, fmt.Errorf("backup: read %s: %w", p, err)
	}
	return File{Size: n, SM3: hex.EncodeToString(h.Sum(nil))}, nil
}

func writeArchive(out string, m *Manifest, files map[string]string) (err error) {
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("backup: manifest: %w", err)
	}
	tmp := out + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	add := func(name string, size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: m.Created, Typeflag: tar.TypeReg}); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		if _, err := io.Copy(tw, r); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		return nil
	}
	if err := add(ManifestName, int64(len(mb)), strings.NewReader(string(mb))); err != nil {
		return err
	}
	for _, fe := range m.Files {
		src, err := os.Open(files[fe.Name])
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		err = add(fe.Name, fe.Size, io.LimitReader(src, fe.Size))
		src.Close()
		if err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return os.Rename(tmp, out)
}

// Extract reads archive into dir, checking every file against the
// manifest (SM3 and size), refusing unknown, missing or unsafe entries.
func Extract(archive, dir string) (*Manifest, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("restore: %w: %v", ErrTampered, err)
	}
	tr := tar.NewReader(gz)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != ManifestName || hdr.Size > 1<<20 {
		return nil, fmt.Errorf("restore: %w: %s is not the first entry", ErrTampered, ManifestName)
	}
	var m Manifest
	if err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(&m); err != nil {
		return nil, fmt.Errorf("restore: %w: manifest: %v", ErrTampered, err)
	}
	if m.Format != FormatVersion {
		return nil, fmt.Errorf("restore: archive format %d, this ybnode reads %d", m.Format, FormatVersion)
	}
	want := map[string]File{}
	for _, fe := range m.Files {
		want[fe.Name] = fe
	}
	seen := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("restore: %w: %v", ErrTampered, err)
		}
		fe, ok := want[hdr.Name]
		clean := path.Clean(hdr.Name)
		if !ok || seen[hdr.Name] || hdr.Typeflag != tar.TypeReg || clean != hdr.Name || strings.HasPrefix(clean, "../") || path.IsAbs(clean) {
			return nil, fmt.Errorf("restore: %w: unexpected entry %q", ErrTampered, hdr.Name)
		}
		seen[hdr.Name] = true
		dst := filepath.Join(dir, filepath.FromSlash(clean))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
		w, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
		h := sm.NewHash()
		n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(tr, fe.Size+1))
		w.Close()
		if err != nil {
			return nil, fmt.Errorf("restore: %w: %s: %v", ErrTampered, hdr.Name, err)
		}
		if n != fe.Size || hex.EncodeToString(h.Sum(nil)) != fe.SM3 {
			return nil, fmt.Errorf("restore: %w: %s has SM3 %x (%d bytes), manifest says %s (%d bytes)",
				ErrTampered, hdr.Name, h.Sum(nil), n, fe.SM3, fe.Size)
		}
	}
	for name := range want {
		if !seen[name] {
			return nil, fmt.Errorf("restore: %w: %s missing", ErrTampered, name)
		}
	}
	return &m, nil
}

// Running reports whether something answers on the node's admin listener.
func Running(cfg *config.Config) (string, bool) {
	host, port, err := net.SplitHostPort(cfg.Listen.Admin)
	if err != nil || port == "0" {
		return "", false
	}
	if host == "" || host == "0.0.0.0" {
		host = "127.0.0.1"
	}
	addr := net.JoinHostPort(host, port)
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return addr, false
	}
	c.Close()
	return addr, true
}
