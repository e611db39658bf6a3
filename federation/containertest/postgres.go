package containertest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// PostgresHost is the name of the national node's database server on the
// national node's private network.
const PostgresHost = "pg.ybfed.internal"

// postgresScript initialises a cluster on first start (password auth for
// TCP, a ybnode database) and runs the server in the foreground; the data
// stays in the container across restarts.
const postgresScript = `set -e
B=$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)
D=/var/lib/postgresql/ybfed
if [ ! -s "$D/PG_VERSION" ]; then
	umask 077
	printf '%s\n' "$YBFED_PG_PASSWORD" > /tmp/pwfile
	"$B/initdb" -N -D "$D" -U ybnode --pwfile=/tmp/pwfile -E UTF8 --no-locale --auth-local=trust --auth-host=scram-sha-256 >/dev/null
	rm -f /tmp/pwfile
	echo "host all all 0.0.0.0/0 scram-sha-256" >> "$D/pg_hba.conf"
	echo "CREATE DATABASE ybnode" | "$B/postgres" --single -D "$D" postgres >/dev/null
fi
exec "$B/postgres" -D "$D" -c listen_addresses='*' -c unix_socket_directories=/tmp -c max_connections=100 -c shared_buffers=32MB
`

// Postgres is a PostgreSQL server container.
type Postgres struct {
	// Container is the container name.
	Container string
	// Password of the ybnode superuser (never logged).
	Password string

	f    *Federation
	host string // 127.0.0.1:port published for the test
}

// NodeURL is the store URL the national node uses on its network.
func (p *Postgres) NodeURL() string {
	return fmt.Sprintf("postgres://ybnode:%s@%s:5432/ybnode?sslmode=disable", url.QueryEscape(p.Password), PostgresHost)
}

// HostURL is the store URL through the port published on 127.0.0.1.
func (p *Postgres) HostURL() string {
	return fmt.Sprintf("postgres://ybnode:%s@%s/ybnode?sslmode=disable&connect_timeout=5", url.QueryEscape(p.Password), p.host)
}

func (f *Federation) startPostgres(ctx context.Context, network string) (*Postgres, error) {
	var pw [16]byte
	_, _ = rand.Read(pw[:])
	p := &Postgres{Container: f.name("pg"), Password: hex.EncodeToString(pw[:]), f: f}
	args := []string{"run", "-d", "--name", p.Container, "--network", network, "--network-alias", PostgresHost,
		"-p", "127.0.0.1::5432", "--user", "postgres", "--stop-signal", "SIGINT", "--stop-timeout", "30", "-e", "YBFED_PG_PASSWORD=" + p.Password}
	args = append(args, f.labels()...)
	args = append(args, f.opts.Postgres, "/bin/sh", "-c", postgresScript)
	start := time.Now()
	if _, err := f.Docker().Run(ctx, args...); err != nil {
		return nil, err
	}
	if err := p.Wait(ctx, 3*time.Minute); err != nil {
		return nil, err
	}
	f.tb.Logf("postgres %s accepting connections after %s", p.Container, time.Since(start).Round(time.Millisecond))
	return p, nil
}

// Wait learns the published port and waits until the server answers.
func (p *Postgres) Wait(ctx context.Context, within time.Duration) error {
	return Poll(ctx, within, 300*time.Millisecond, func(ctx context.Context) error {
		out, err := p.f.Docker().Run(ctx, "port", p.Container, "5432/tcp")
		if err != nil {
			return err
		}
		p.host = ""
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "127.0.0.1:") {
				p.host = strings.TrimSpace(l)
			}
		}
		if p.host == "" {
			return fmt.Errorf("postgres port not published: %q", out)
		}
		db, err := sql.Open("pgx", p.HostURL())
		if err != nil {
			return err
		}
		defer db.Close()
		return db.PingContext(ctx)
	})
}

// Stop stops the server with a fast shutdown (SIGINT: sessions are ended,
// committed data kept).
func (p *Postgres) Stop(ctx context.Context) error {
	_, err := p.f.Docker().Run(ctx, "stop", "-t", "30", p.Container)
	return err
}

// Start starts a stopped server and waits until it answers.
func (p *Postgres) Start(ctx context.Context) error {
	if _, err := p.f.Docker().Run(ctx, "start", p.Container); err != nil {
		return err
	}
	return p.Wait(ctx, 2*time.Minute)
}

// Open opens the ybnode database from the host.
func (p *Postgres) Open() (*sql.DB, error) {
	if p.host == "" {
		return nil, errors.New("postgres is not running")
	}
	return sql.Open("pgx", p.HostURL())
}

// Snapshot is the content of a database: for each table of the public
// schema, how many rows have each MD5 of a row's text form.
type Snapshot map[string]map[string]int

// Rows counts the rows of the named table.
func (s Snapshot) Rows(table string) int {
	n := 0
	for _, c := range s[table] {
		n += c
	}
	return n
}

// Snapshot reads every table of the ybnode database.
func (p *Postgres) Snapshot(ctx context.Context) (Snapshot, error) {
	db, err := p.Open()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return nil, fmt.Errorf("snapshot: %w", err)
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	s := Snapshot{}
	for _, t := range tables {
		q := fmt.Sprintf(`SELECT md5(x::text) FROM %q AS x`, t)
		rs, err := db.QueryContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", t, err)
		}
		m := map[string]int{}
		for rs.Next() {
			var h string
			if err := rs.Scan(&h); err != nil {
				rs.Close()
				return nil, fmt.Errorf("snapshot %s: %w", t, err)
			}
			m[h]++
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", t, err)
		}
		s[t] = m
	}
	return s, nil
}

// Lost lists what before holds and after does not: whole tables, and the
// rows of the durable tables named (append-only records such as the audit
// log, which no restart may lose; rows of other tables may legitimately
// change, such as membership state).
func Lost(before, after Snapshot, durable ...string) []string {
	var out []string
	for t := range before {
		if _, ok := after[t]; !ok {
			out = append(out, "table "+t)
		}
	}
	for _, t := range durable {
		missing, rows := 0, 0
		for h, c := range before[t] {
			rows += c
			if got := after[t][h]; got < c {
				missing += c - got
			}
		}
		if missing > 0 {
			out = append(out, fmt.Sprintf("%d of %d rows of %s", missing, rows, t))
		}
	}
	sort.Strings(out)
	return out
}

// Clients lists the addresses of the sessions connected to the ybnode
// database, other than the asking one.
func (p *Postgres) Clients(ctx context.Context) ([]string, error) {
	db, err := p.Open()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT COALESCE(host(client_addr), 'local') FROM pg_stat_activity
		WHERE datname = 'ybnode' AND pid <> pg_backend_pid()`)
	if err != nil {
		return nil, fmt.Errorf("pg clients: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("pg clients: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
