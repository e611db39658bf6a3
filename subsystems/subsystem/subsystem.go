// Package subsystem defines the shape every business subsystem under
// subsystems/ shares: a Descriptor (name, Chinese title, permissions and
// embedded migrations), the Env a subsystem is started with and the
// Subsystem interface the node adapts into a node component, and the JSON
// helpers (httpjson.go) their HTTP APIs share: strict body decoding that
// names the bad field, and the error envelope with its status mapping.
//
// It holds no business logic; subsystems import it, never each other.
package subsystem

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"regexp"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/node/store"
)

// Permission is one action a subsystem lets operators or institutions do.
type Permission struct {
	// Code is "<subsystem>.<action>", e.g. "payment.group".
	Code string `json:"code"`
	// Title is the Chinese label shown on the console.
	Title string `json:"title"`
}

// Descriptor describes a subsystem.
type Descriptor struct {
	// Name is the lower-case identifier: the URL prefix (/<name>/v1/...),
	// the migration table (goose_<name>) and the log component.
	Name string `json:"name"`
	// Title is the Chinese name, e.g. "支付方式管理".
	Title string `json:"title"`
	// Permissions lists the actions the subsystem's routes check.
	Permissions []Permission `json:"permissions"`
	// Migrations holds goose *.sql files at its root, or nil. Tables are
	// prefixed with a short subsystem prefix.
	Migrations fs.FS `json:"-"`
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{1,31}$`)

// Validate checks the descriptor's name and permission codes.
func (d Descriptor) Validate() error {
	if !nameRE.MatchString(d.Name) {
		return errors.New("subsystem: name " + d.Name + " is not [a-z][a-z0-9_]{1,31}")
	}
	if d.Title == "" {
		return errors.New("subsystem " + d.Name + ": no title")
	}
	seen := map[string]bool{}
	for _, p := range d.Permissions {
		if len(p.Code) <= len(d.Name)+1 || p.Code[:len(d.Name)+1] != d.Name+"." {
			return errors.New("subsystem " + d.Name + ": permission " + p.Code + " is not prefixed with " + d.Name + ".")
		}
		if seen[p.Code] {
			return errors.New("subsystem " + d.Name + ": permission " + p.Code + " twice")
		}
		seen[p.Code] = true
	}
	return nil
}

// Env is what a subsystem is given at start, after its migrations ran.
type Env struct {
	// DB is the node's store.
	DB *store.DB
	// Log is already tagged with the subsystem's name.
	Log *slog.Logger
	// Admdvs is this node's administrative division code.
	Admdvs string
	// Routers of the node's listeners: Hospital for institutions, Admin for
	// operators and agencies; Console may be nil.
	Hospital, Admin, Console *mux.Router
}

// Subsystem is one business subsystem.
type Subsystem interface {
	// Descriptor describes the subsystem; it is constant.
	Descriptor() Descriptor
	// Start registers routes and starts background work bound to ctx.
	Start(ctx context.Context, env Env) error
	// Ready returns nil when the subsystem can serve, or why it cannot.
	Ready(ctx context.Context) error
	// Stop ends background work.
	Stop(ctx context.Context) error
}

// Logger returns Log, or a logger that discards everything when Log is nil.
func (e Env) Logger() *slog.Logger {
	if e.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Log
}

// NotStarted is the Ready answer of subsystem name: nil once started,
// else "<name>: not started".
func NotStarted(name string, started bool) error {
	if started {
		return nil
	}
	return errors.New(name + ": not started")
}

// Migrations returns the "migrations" folder of an embedded file system,
// the Descriptor's Migrations of a subsystem that embeds migrations/*.sql.
func Migrations(embedded fs.FS) fs.FS {
	sub, err := fs.Sub(embedded, "migrations")
	if err != nil {
		return nil
	}
	return sub
}
