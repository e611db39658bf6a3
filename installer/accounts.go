package installer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// Account is a system user and its primary group.
type Account struct {
	Name string
	UID  int
	GID  int
}

// Accounts finds, creates and removes the service account.
type Accounts interface {
	// Lookup returns the account, and false if it does not exist.
	Lookup(ctx context.Context, name string) (Account, bool, error)
	// Create adds a system account with its own group, no login shell and
	// home directory home (not created).
	Create(ctx context.Context, name, home string) (Account, error)
	// Delete removes the account and its group.
	Delete(ctx context.Context, name string) error
}

// NewAccounts returns the accounts of the system rooted at prefix: the
// host's own (useradd) for "/", the files under prefix otherwise.
func NewAccounts(prefix string) Accounts {
	if prefix == "" || prefix == "/" {
		return SystemAccounts{}
	}
	return FileAccounts{Root: prefix}
}

// SystemAccounts manages accounts of the running system with useradd and
// userdel.
type SystemAccounts struct{}

var _ Accounts = SystemAccounts{}

// Lookup looks the user up in the system databases.
func (SystemAccounts) Lookup(_ context.Context, name string) (Account, bool, error) {
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return Account{}, false, nil
		}
		return Account{}, false, fmt.Errorf("look up user %s: %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return Account{Name: name, UID: uid, GID: gid}, true, nil
}

// Create runs useradd --system --user-group.
func (s SystemAccounts) Create(ctx context.Context, name, home string) (Account, error) {
	out, err := exec.CommandContext(ctx, "useradd", "--system", "--user-group", "--no-create-home",
		"--home-dir", home, "--shell", "/usr/sbin/nologin", "--comment", "ybnode federation node", name).CombinedOutput()
	if err != nil {
		return Account{}, fmt.Errorf("useradd %s: %w: %s (run the installer as root)", name, err, strings.TrimSpace(string(out)))
	}
	a, ok, err := s.Lookup(ctx, name)
	if err != nil || !ok {
		return Account{}, fmt.Errorf("useradd %s: account not found afterwards: %v", name, err)
	}
	return a, nil
}

// Delete runs userdel (which also removes the user's own group).
func (SystemAccounts) Delete(ctx context.Context, name string) error {
	out, err := exec.CommandContext(ctx, "userdel", name).CombinedOutput()
	if err != nil {
		return fmt.Errorf("userdel %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// FileAccounts manages accounts by editing etc/passwd, etc/group and (if
// present) etc/shadow under Root, the way useradd --system would: the
// highest free id below 1000, shared by the user and its group. It serves
// installations into a root file system that is not the running system.
type FileAccounts struct {
	Root string
}

var _ Accounts = FileAccounts{}

func (f FileAccounts) path(name string) string { return filepath.Join(f.Root, "etc", name) }

// readDB returns the lines of an etc file, split at ':'; a missing file is
// empty.
func (f FileAccounts) readDB(name string) ([][]string, error) {
	b, err := os.ReadFile(f.path(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.path(name), err)
	}
	var rows [][]string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			rows = append(rows, strings.Split(line, ":"))
		}
	}
	return rows, nil
}

func (f FileAccounts) appendLine(name, line string, perm os.FileMode) error {
	p := f.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	old, err := os.ReadFile(p)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("accounts: %w", err)
	}
	if len(old) > 0 && old[len(old)-1] != '\n' {
		old = append(old, '\n')
	}
	if err == nil {
		if st, serr := os.Stat(p); serr == nil {
			perm = st.Mode().Perm()
		}
	}
	return writeAtomic(p, append(old, line+"\n"...), perm)
}

func (f FileAccounts) removeLine(name, key string) error {
	p := f.path(name)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if strings.HasPrefix(line, key+":") {
			continue
		}
		out = append(out, line)
	}
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	return writeAtomic(p, []byte(strings.Join(out, "\n")+"\n"), st.Mode().Perm())
}

// Lookup finds the user in Root/etc/passwd.
func (f FileAccounts) Lookup(_ context.Context, name string) (Account, bool, error) {
	rows, err := f.readDB("passwd")
	if err != nil {
		return Account{}, false, err
	}
	for _, r := range rows {
		if len(r) >= 4 && r[0] == name {
			uid, err1 := strconv.Atoi(r[2])
			gid, err2 := strconv.Atoi(r[3])
			if err1 != nil || err2 != nil {
				return Account{}, false, fmt.Errorf("%s: bad entry for %s", f.path("passwd"), name)
			}
			return Account{Name: name, UID: uid, GID: gid}, true, nil
		}
	}
	return Account{}, false, nil
}

// Create adds the user and its group with the highest id below 1000 that
// neither file uses.
func (f FileAccounts) Create(_ context.Context, name, home string) (Account, error) {
	used := map[int]bool{}
	for _, db := range []string{"passwd", "group"} {
		rows, err := f.readDB(db)
		if err != nil {
			return Account{}, err
		}
		for _, r := range rows {
			if len(r) >= 3 {
				if id, err := strconv.Atoi(r[2]); err == nil {
					used[id] = true
				}
				if r[0] == name {
					return Account{}, fmt.Errorf("accounts: %s already exists in %s", name, f.path(db))
				}
			}
		}
	}
	id := 999
	for ; id >= 100 && used[id]; id-- {
	}
	if id < 100 {
		return Account{}, errors.New("accounts: no free system id between 100 and 999")
	}
	if err := f.appendLine("group", fmt.Sprintf("%s:x:%d:", name, id), 0o644); err != nil {
		return Account{}, err
	}
	if err := f.appendLine("passwd", fmt.Sprintf("%s:x:%d:%d:ybnode federation node:%s:/usr/sbin/nologin", name, id, id, home), 0o644); err != nil {
		return Account{}, err
	}
	for _, sh := range []struct{ file, line string }{{"shadow", name + ":!:::::::"}, {"gshadow", name + ":!::"}} {
		if _, err := os.Stat(f.path(sh.file)); err == nil {
			if err := f.appendLine(sh.file, sh.line, 0o640); err != nil {
				return Account{}, err
			}
		}
	}
	return Account{Name: name, UID: id, GID: id}, nil
}

// Delete removes the user and its group from every file.
func (f FileAccounts) Delete(_ context.Context, name string) error {
	for _, db := range []string{"passwd", "shadow", "group", "gshadow"} {
		if err := f.removeLine(db, name); err != nil {
			return err
		}
	}
	return nil
}
