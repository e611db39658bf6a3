package installer

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// writeAtomic replaces path with data through a temporary file in the same
// directory, so a crash leaves either the old or the new content.
func writeAtomic(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// owner is a wanted file owner; a negative id means "leave as is".
type owner struct{ uid, gid int }

// noOwner leaves ownership alone.
var noOwner = owner{-1, -1}

// canChown reports whether this process may give files away.
func canChown() bool { return os.Geteuid() == 0 }

// ownerDiff describes how fi's owner differs from o ("" if it does not or
// cannot be changed by this process).
func ownerDiff(fi fs.FileInfo, o owner) string {
	if !canChown() || o.uid < 0 {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	if int(st.Uid) != o.uid || (o.gid >= 0 && int(st.Gid) != o.gid) {
		return fmt.Sprintf("owner %d:%d -> %d:%d", st.Uid, st.Gid, o.uid, o.gid)
	}
	return ""
}

func chown(path string, o owner) error {
	if !canChown() || o.uid < 0 {
		return nil
	}
	if err := os.Lchown(path, o.uid, o.gid); err != nil {
		return fmt.Errorf("chown %s: %w", path, err)
	}
	return nil
}

// fileDiff describes what writing data with perm and o to path would
// change ("" if nothing).
func fileDiff(path string, data []byte, perm os.FileMode, o owner) (string, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "create", nil
	}
	if err != nil {
		return "", fmt.Errorf("inspect %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s exists and is not a regular file", path)
	}
	var what []string
	old, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("inspect %s: %w", path, err)
	}
	if !bytes.Equal(old, data) {
		what = append(what, "content differs")
	}
	if fi.Mode().Perm() != perm {
		what = append(what, fmt.Sprintf("mode %04o -> %04o", fi.Mode().Perm(), perm))
	}
	if d := ownerDiff(fi, o); d != "" {
		what = append(what, d)
	}
	return joinWhat(what), nil
}

// dirDiff describes what creating dir with perm and o would change.
func dirDiff(path string, perm os.FileMode, o owner) (string, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "create", nil
	}
	if err != nil {
		return "", fmt.Errorf("inspect %s: %w", path, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s exists and is not a directory", path)
	}
	var what []string
	if fi.Mode().Perm() != perm {
		what = append(what, fmt.Sprintf("mode %04o -> %04o", fi.Mode().Perm(), perm))
	}
	if d := ownerDiff(fi, o); d != "" {
		what = append(what, d)
	}
	return joinWhat(what), nil
}

func ensureDir(path string, perm os.FileMode, o owner) error {
	// Parents (/var/lib, /etc) get the usual 0755, only path itself perm.
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	if err := os.Mkdir(path, perm); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := os.Chmod(path, perm); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	return chown(path, o)
}

func ensureFile(path string, data []byte, perm os.FileMode, o owner) error {
	if err := writeAtomic(path, data, perm); err != nil {
		return err
	}
	return chown(path, o)
}

func joinWhat(what []string) string {
	var b bytes.Buffer
	for i, w := range what {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(w)
	}
	return b.String()
}
