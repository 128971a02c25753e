package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// sqliteBusyTimeout is how long a SQLite connection waits for another connection's write lock
// (another process or a second handle on the same file) before giving up with SQLITE_BUSY.
const sqliteBusyTimeout = 10 * time.Second

// sqliteReaders bounds the read-only SQLite connections; reads never block in WAL mode.
const sqliteReaders = 4

// Open connects to the database named by databaseURL, applies pending migrations and returns the
// store. A plain file path, "sqlite://path", "sqlite:path" or "file:path" selects SQLite (the
// parent directory is created); "postgres://…" or "postgresql://…" selects PostgreSQL.
func Open(ctx context.Context, databaseURL string, opts ...Option) (Store, error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	dialect, target, err := parseDatabaseURL(databaseURL)
	if err != nil {
		return nil, err
	}
	var s *sqlStore
	switch dialect {
	case DialectSQLite:
		s, err = openSQLite(ctx, target, o)
	default:
		s, err = openPostgres(ctx, target, o)
	}
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// parseDatabaseURL returns the dialect and, for SQLite, the file path or, for PostgreSQL, the URL.
// Errors never echo the URL, which may carry a password.
func parseDatabaseURL(raw string) (dialect, target string, err error) {
	raw = strings.TrimSpace(raw)
	lower := strings.ToLower(raw)
	var path string
	switch {
	case raw == "":
		return "", "", fmt.Errorf("%w: empty database URL", ErrInvalid)
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		if _, err := pgconn.ParseConfig(raw); err != nil {
			return "", "", fmt.Errorf("%w: malformed PostgreSQL URL", ErrInvalid)
		}
		return DialectPostgres, raw, nil
	case strings.HasPrefix(lower, "sqlite://"):
		path = raw[len("sqlite://"):]
	case strings.HasPrefix(lower, "sqlite:"):
		path = raw[len("sqlite:"):]
	case strings.HasPrefix(lower, "file:"):
		path = raw[len("file:"):]
	case strings.Contains(raw, "://"):
		scheme, _, _ := strings.Cut(raw, "://")
		return "", "", fmt.Errorf("%w: unsupported database URL scheme %q (use a file path, sqlite:// or postgres://)", ErrInvalid, scheme)
	default:
		path = raw
	}
	if strings.ContainsAny(path, "?#") {
		return "", "", fmt.Errorf("%w: SQLite path %q must not contain '?' or '#' (connection options are fixed by guestpass)", ErrInvalid, path)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, ":memory:") {
		return "", "", fmt.Errorf("%w: SQLite needs a file path (in-memory databases are not shared between connections)", ErrInvalid)
	}
	return DialectSQLite, path, nil
}

func openSQLite(ctx context.Context, path string, o options) (*sqlStore, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: resolve SQLite path: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("store: create SQLite directory: %w", err)
	}
	// A file: URI lets SQLite decode any character in the path; the query carries the pragmas
	// applied to every new connection. synchronous=NORMAL in WAL mode never corrupts the database;
	// a power loss (not a process crash) can lose the last commits, which is the accepted price
	// for commits without an fsync each.
	base := "file:" + (&url.URL{Path: filepath.ToSlash(abs)}).EscapedPath() + "?"
	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)",
		sqliteBusyTimeout.Milliseconds())
	// The writer pool has one connection, so this process's writes queue in Go instead of
	// contending for SQLite's lock; transactions begin IMMEDIATE so a second process waits on
	// busy_timeout instead of failing with SQLITE_BUSY when a read lock cannot be upgraded.
	w, err := sql.Open("sqlite", base+common+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: open SQLite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("store: open SQLite %s: %w", abs, err)
	}
	r, err := sql.Open("sqlite", base+common+"&_pragma=query_only(1)")
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("store: open SQLite: %w", err)
	}
	r.SetMaxOpenConns(sqliteReaders)
	r.SetMaxIdleConns(sqliteReaders)
	return newSQLStore(sqliteDialect, w, r, o), nil
}

func openPostgres(ctx context.Context, dsn string, o options) (*sqlStore, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open PostgreSQL: %w", err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	// Recycle connections so fail-overs and DNS changes are picked up.
	db.SetConnMaxLifetime(30 * time.Minute)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: connect to PostgreSQL: %w", err)
	}
	return newSQLStore(postgresDialect, db, db, o), nil
}

// migrate applies the dialect's embedded migrations. On PostgreSQL an advisory session lock makes
// replicas that start together migrate one after the other.
func (s *sqlStore) migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations, "migrations/"+s.d.name)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	popts := []goose.ProviderOption{goose.WithSlog(s.logger), goose.WithDisableGlobalRegistry(true)}
	gd := goose.DialectSQLite3
	if s.d.name == DialectPostgres {
		gd = goose.DialectPostgres
		lockID, err := s.migrationLockID(ctx)
		if err != nil {
			return err
		}
		// Poll every second (goose's default is 5 s) for up to 5 minutes.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID), lock.WithLockTimeout(1, 300))
		if err != nil {
			return fmt.Errorf("store: migration lock: %w", err)
		}
		popts = append(popts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gd, s.w, fsys, popts...)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: apply migrations: %w", err)
	}
	return nil
}

// migrationLockID derives the PostgreSQL advisory lock that serialises migrations from the schema
// being migrated: replicas sharing a schema wait for each other, while deployments (or test runs)
// in other schemas of the same database do not.
func (s *sqlStore) migrationLockID(ctx context.Context) (int64, error) {
	var schema sql.NullString
	if err := s.w.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return 0, fmt.Errorf("store: read current schema: %w", err)
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte("guestpass migrations\x00" + schema.String))
	return int64(h.Sum64()), nil
}

// sqliteDialect and postgresDialect hold the few differences between the two databases.
var (
	sqliteDialect = &dialect{
		name:       DialectSQLite,
		skipLocked: "",
		cacheStmts: true,
		encodeTime: func(t time.Time) any { return t.UTC().Format(sqliteTimeFormat) },
		isUnique: func(err error) bool {
			var e *sqlite.Error
			return errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
		},
		isForeignKey: func(err error) bool {
			var e *sqlite.Error
			return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
		},
	}
	postgresDialect = &dialect{
		name:       DialectPostgres,
		dollar:     true,
		skipLocked: " FOR UPDATE SKIP LOCKED",
		encodeTime: func(t time.Time) any { return t.UTC() },
		isUnique: func(err error) bool {
			var e *pgconn.PgError
			return errors.As(err, &e) && e.Code == "23505"
		},
		isForeignKey: func(err error) bool {
			var e *pgconn.PgError
			return errors.As(err, &e) && e.Code == "23503"
		},
	}
)
