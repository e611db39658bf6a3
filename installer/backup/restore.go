package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ybfed/ybfed/node/store"
)

// RestoreOptions add to Options what a restore needs.
type RestoreOptions struct {
	Options
	// Verify checks the database content against the manifest's summary
	// (SQLite: integrity check and canonical dump, before replacing
	// anything; PostgreSQL: after pg_restore, inside its transaction).
	Verify bool
}

// Restore checks archive against its manifest and, only if it matches,
// replaces the node's database (and keys, when the archive has them). The
// replaced files are kept beside the new ones with a .before-restore-TIME
// suffix. It refuses to run while the node answers on its admin listener.
func Restore(ctx context.Context, o RestoreOptions, archive string) (*Manifest, error) {
	cfg := o.Config
	if addr, up := Running(cfg); up {
		return nil, fmt.Errorf("restore: %w: its admin listener %s answers; stop it first (systemctl stop ybnode)", ErrNodeRunning, addr)
	}
	sc := cfg.StoreConfig()
	workParent := cfg.DataDir
	if err := os.MkdirAll(workParent, 0o750); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	work, err := os.MkdirTemp(workParent, ".ybnode-restore-*")
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	defer os.RemoveAll(work)
	m, err := Extract(archive, work)
	if err != nil {
		return nil, err
	}
	if m.Admdvs != cfg.Node.Admdvs {
		return nil, fmt.Errorf("restore: archive is of center %s, this node is %s", m.Admdvs, cfg.Node.Admdvs)
	}
	if (m.Driver == string(store.SQLite)) != (sc.Driver == store.SQLite) {
		return nil, fmt.Errorf("restore: archive holds a %s database, this node uses %s", m.Driver, sc.Driver)
	}
	stamp := time.Now().UTC().Format("20060102T150405Z")
	switch sc.Driver {
	case store.SQLite:
		src := filepath.Join(work, filepath.FromSlash(SQLiteName))
		if o.Verify {
			if err := verifySQLite(ctx, src, m.Content); err != nil {
				return nil, err
			}
		}
		if err := replaceSQLite(src, sc.Path, stamp); err != nil {
			return nil, err
		}
	default:
		if err := restorePostgres(ctx, sc.URL, filepath.Join(work, filepath.FromSlash(PGDumpName)), m.Content, o.Verify); err != nil {
			return nil, err
		}
	}
	if m.Keys && cfg.TLS.Dir != "" {
		if err := replaceDir(work, keysDir, cfg.TLS.Dir, stamp); err != nil {
			return nil, err
		}
		if cfg.CA.Dir != "" {
			if err := replaceDir(work, caDir, cfg.CA.Dir, stamp); err != nil {
				return nil, err
			}
		}
	}
	o.log().Info("restore done", "archive", archive, "driver", m.Driver, "keys", m.Keys, "verified", o.Verify)
	return m, nil
}

// VerifyArchive checks an archive without restoring it: every file
// against the manifest and, for SQLite, the database content.
func VerifyArchive(ctx context.Context, archive, scratch string) (*Manifest, error) {
	work, err := os.MkdirTemp(scratch, ".ybnode-verify-*")
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	defer os.RemoveAll(work)
	m, err := Extract(archive, work)
	if err != nil {
		return nil, err
	}
	if m.Driver == string(store.SQLite) {
		if err := verifySQLite(ctx, filepath.Join(work, filepath.FromSlash(SQLiteName)), m.Content); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func verifySQLite(ctx context.Context, p string, want Summary) error {
	db, err := openSQLite(p, true)
	if err != nil {
		return err
	}
	defer db.Close()
	var ok string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		return fmt.Errorf("restore: %w: integrity check: %s %v", ErrTampered, ok, err)
	}
	got, err := Summarize(ctx, db, store.SQLite)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if !got.Equal(want) {
		return fmt.Errorf("restore: %w: database content %s differs from the manifest's %s", ErrTampered, got.SM3, want.SM3)
	}
	return nil
}

// replaceSQLite moves the old database (with its -wal and -shm) aside and
// the restored one into place.
func replaceSQLite(src, dst, stamp string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	tmp := dst + ".restoring"
	if err := copyFile(src, tmp); err != nil {
		return err
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if _, err := os.Stat(dst + suffix); err == nil {
			if err := os.Rename(dst+suffix, dst+suffix+".before-restore-"+stamp); err != nil {
				return fmt.Errorf("restore: keep old database: %w", err)
			}
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return ownLike(dst, filepath.Dir(dst))
}

// ownLike gives path (recursively) the owner of ref, so that files restored
// by root stay usable by the node's own user.
func ownLike(path, ref string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	fi, err := os.Stat(ref)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	return filepath.WalkDir(path, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(st.Uid), int(st.Gid))
	})
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("restore: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("restore: %w", err)
	}
	return f.Close()
}

// replaceDir puts the archive's files under prefix into dir, the old dir
// moved aside first.
func replaceDir(work, prefix, dir, stamp string) error {
	src := filepath.Join(work, filepath.FromSlash(strings.TrimSuffix(prefix, "/")))
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if _, err := os.Stat(dir); err == nil {
		if err := os.Rename(dir, dir+".before-restore-"+stamp); err != nil {
			return fmt.Errorf("restore: keep old %s: %w", dir, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o750); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := os.Rename(src, dir); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return ownLike(dir, filepath.Dir(dir))
}

// restorePostgres runs pg_restore in one transaction, replacing the
// objects of the dump, then compares the content when asked.
func restorePostgres(ctx context.Context, dsn, dump string, want Summary, verify bool) error {
	if _, err := exec.LookPath("pg_restore"); err != nil {
		return errors.New("restore: pg_restore not found: install the postgresql-client package")
	}
	lu, _, err := libpqURL(dsn)
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, "pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
		"--single-transaction", "--exit-on-error", "--dbname="+lu, dump).CombinedOutput()
	if err != nil {
		return fmt.Errorf("restore: pg_restore: %w: %s", err, strings.TrimSpace(string(out)))
	}
	if !verify {
		return nil
	}
	db, err := openPG(dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	got, err := Summarize(ctx, db, store.Postgres)
	if err != nil {
		return fmt.Errorf("restore: verify: %w", err)
	}
	if !got.Equal(want) {
		return fmt.Errorf("restore: restored content %s differs from the manifest's %s", got.SM3, want.SM3)
	}
	return nil
}
