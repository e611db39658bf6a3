package console

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sync"
	"time"

	"github.com/ybfed/ybfed/crypto/password"
	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate creates or upgrades the console's tables in db.
func Migrate(ctx context.Context, db *store.DB) error {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("console: migrations: %w", err)
	}
	if err := db.Migrate(ctx, "console", sub); err != nil {
		return fmt.Errorf("console: %w", err)
	}
	return nil
}

// Role is what a console user may do.
type Role string

// Roles.
const (
	// RoleNationalAdmin sees every center and manages every user; only at
	// the national center.
	RoleNationalAdmin Role = "national_admin"
	// RoleProvinceAdmin sees its own province and manages its users.
	RoleProvinceAdmin Role = "province_admin"
	// RoleAuditor reads everything in its scope and changes nothing.
	RoleAuditor Role = "auditor"
)

// Roles lists every role.
var Roles = []Role{RoleNationalAdmin, RoleProvinceAdmin, RoleAuditor}

// Label is the role's display name.
func (r Role) Label() string {
	switch r {
	case RoleNationalAdmin:
		return "national admin"
	case RoleProvinceAdmin:
		return "province admin"
	case RoleAuditor:
		return "auditor (read-only)"
	}
	return string(r)
}

// User is a console account.
type User struct {
	Name     string
	Role     Role
	Admdvs   string // the center whose data the user sees
	Disabled bool
	Created  time.Time
}

// National reports whether the user sees the whole federation.
func (u User) National() bool { return u.Admdvs == centers.NationalAdmdvs }

// CanWrite reports whether the user may change anything.
func (u User) CanWrite() bool {
	return u.Role == RoleNationalAdmin || u.Role == RoleProvinceAdmin
}

// Sees reports whether admdvs is in the user's scope.
func (u User) Sees(admdvs string) bool { return u.National() || u.Admdvs == admdvs }

// Manages reports whether u may create, enable or disable account t.
func (u User) Manages(t User) bool {
	switch u.Role {
	case RoleNationalAdmin:
		return true
	case RoleProvinceAdmin:
		return t.Role != RoleNationalAdmin && t.Admdvs == u.Admdvs
	}
	return false
}

var userName = regexp.MustCompile(`^[a-z][a-z0-9._-]{1,31}$`)

// MinPassword is the shortest accepted password.
const MinPassword = 12

// Validate checks a user's name, role and scope.
func (u User) Validate() error {
	if !userName.MatchString(u.Name) {
		return fmt.Errorf("user name %q: 2-32 of a-z 0-9 . _ -, starting with a letter", u.Name)
	}
	if _, ok := centers.Lookup(u.Admdvs); !ok {
		return fmt.Errorf("user %s: admdvs %q is not a federation center", u.Name, u.Admdvs)
	}
	switch u.Role {
	case RoleNationalAdmin:
		if !u.National() {
			return fmt.Errorf("user %s: a national admin belongs to %s, not %s", u.Name, centers.NationalAdmdvs, u.Admdvs)
		}
	case RoleProvinceAdmin:
		if u.National() {
			return fmt.Errorf("user %s: a province admin needs a province admdvs", u.Name)
		}
	case RoleAuditor:
	default:
		return fmt.Errorf("user %s: unknown role %q (want national_admin, province_admin or auditor)", u.Name, u.Role)
	}
	return nil
}

// Errors of the user store.
var (
	ErrUserExists   = errors.New("console: user already exists")
	ErrNoUser       = errors.New("console: no such user")
	ErrBadLogin     = errors.New("console: wrong user name or password")
	ErrWeakPassword = fmt.Errorf("console: password shorter than %d characters", MinPassword)
)

// Users is the console's account store in the node database.
type Users struct {
	db  *store.DB
	now func() time.Time

	dummyOnce sync.Once
	dummy     string
}

// NewUsers uses db (migrated with Migrate); now may be nil (time.Now).
func NewUsers(db *store.DB, now func() time.Time) *Users {
	if now == nil {
		now = time.Now
	}
	return &Users{db: db, now: now}
}

// GeneratePassword returns a random 20-character password.
func GeneratePassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	var b [20]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// Add creates user u with password pw.
func (s *Users) Add(ctx context.Context, u User, pw string) error {
	if err := u.Validate(); err != nil {
		return err
	}
	if len(pw) < MinPassword {
		return ErrWeakPassword
	}
	h, err := password.Hash(pw)
	if err != nil {
		return fmt.Errorf("console: add user %s: %w", u.Name, err)
	}
	now := s.now().UnixMicro()
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM console_users WHERE username = ?`, u.Name).Scan(&n); err != nil {
			return fmt.Errorf("console: add user %s: %w", u.Name, err)
		}
		if n > 0 {
			return fmt.Errorf("%w: %s", ErrUserExists, u.Name)
		}
		_, err := tx.Exec(ctx, `INSERT INTO console_users (username, password_hash, role, admdvs, disabled, created_at, updated_at)
VALUES (?, ?, ?, ?, 0, ?, ?)`, u.Name, h, string(u.Role), u.Admdvs, now, now)
		if err != nil {
			return fmt.Errorf("console: add user %s: %w", u.Name, err)
		}
		return nil
	})
}

// List returns every user ordered by name.
func (s *Users) List(ctx context.Context) ([]User, error) {
	rows, err := s.db.Query(ctx, `SELECT username, role, admdvs, disabled, created_at FROM console_users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("console: list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		var role string
		var disabled int
		var created int64
		if err := rows.Scan(&u.Name, &role, &u.Admdvs, &disabled, &created); err != nil {
			return nil, fmt.Errorf("console: list users: %w", err)
		}
		u.Role, u.Disabled, u.Created = Role(role), disabled != 0, time.UnixMicro(created)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("console: list users: %w", err)
	}
	return out, nil
}

// Count returns how many users exist.
func (s *Users) Count(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM console_users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("console: count users: %w", err)
	}
	return n, nil
}

// Get returns one user.
func (s *Users) Get(ctx context.Context, name string) (User, error) {
	u, _, err := s.get(ctx, name)
	return u, err
}

func (s *Users) get(ctx context.Context, name string) (User, string, error) {
	var u User
	var role, hash string
	var disabled int
	var created int64
	err := s.db.QueryRow(ctx, `SELECT username, password_hash, role, admdvs, disabled, created_at FROM console_users WHERE username = ?`, name).
		Scan(&u.Name, &hash, &role, &u.Admdvs, &disabled, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, "", fmt.Errorf("%w: %s", ErrNoUser, name)
	}
	if err != nil {
		return User{}, "", fmt.Errorf("console: user %s: %w", name, err)
	}
	u.Role, u.Disabled, u.Created = Role(role), disabled != 0, time.UnixMicro(created)
	return u, hash, nil
}

// SetDisabled disables or enables a user; disabling also ends the user's
// sessions.
func (s *Users) SetDisabled(ctx context.Context, name string, disabled bool) error {
	v := 0
	if disabled {
		v = 1
	}
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE console_users SET disabled = ?, updated_at = ? WHERE username = ?`, v, s.now().UnixMicro(), name)
		if err != nil {
			return fmt.Errorf("console: disable %s: %w", name, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return fmt.Errorf("%w: %s", ErrNoUser, name)
		}
		if disabled {
			if _, err := tx.Exec(ctx, `DELETE FROM console_sessions WHERE username = ?`, name); err != nil {
				return fmt.Errorf("console: end sessions of %s: %w", name, err)
			}
		}
		return nil
	})
}

// Authenticate checks name and password and returns the enabled user.
// Unknown users cost the same hash computation as known ones.
func (s *Users) Authenticate(ctx context.Context, name, pw string) (User, error) {
	u, hash, err := s.get(ctx, name)
	if errors.Is(err, ErrNoUser) {
		s.dummyOnce.Do(func() { s.dummy, _ = password.Hash(GeneratePassword()) })
		_, _ = password.Verify(pw, s.dummy)
		return User{}, ErrBadLogin
	}
	if err != nil {
		return User{}, err
	}
	ok, err := password.Verify(pw, hash)
	if err != nil {
		return User{}, fmt.Errorf("console: user %s: %w", name, err)
	}
	if !ok || u.Disabled {
		return User{}, ErrBadLogin
	}
	return u, nil
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
