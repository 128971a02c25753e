package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// sqliteTimeFormat is fixed-width so that SQLite's text comparisons order timestamps correctly.
const sqliteTimeFormat = "2006-01-02T15:04:05.000000Z"

// Limits for list queries.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

// dialect holds what differs between SQLite and PostgreSQL for the shared queries.
type dialect struct {
	name         string
	dollar       bool   // placeholders are $1, $2… instead of ?
	skipLocked   string // row-locking suffix for the outbox claim subquery
	encodeTime   func(time.Time) any
	isUnique     func(error) bool
	isForeignKey func(error) bool
	cacheStmts   bool     // keep prepared statements (the driver does not)
	rebound      sync.Map // query → rebound query (PostgreSQL)
}

// bind rewrites the ? placeholders of q for the dialect. Queries in this package never contain a
// literal question mark.
func (d *dialect) bind(q string) string {
	if !d.dollar {
		return q
	}
	if v, ok := d.rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	out := b.String()
	d.rebound.Store(q, out)
	return out
}

// sqlStore implements Store on database/sql for both dialects. w takes every write; r serves
// reads. For PostgreSQL both are the same pool; for SQLite w is a single connection.
type sqlStore struct {
	d      *dialect
	w, r   *sql.DB
	clock  func() time.Time
	logger *slog.Logger
	// stmts caches prepared statements per pool and query when the driver does not (SQLite):
	// parsing and planning costs more than running the hot-path statements.
	stmts   sync.Map // stmtKey → *sql.Stmt
	nstmts  atomic.Int32
	closing atomic.Bool
}

// maxCachedStmts bounds the statement cache; queries built from variable-length filters could
// otherwise grow it without limit.
const maxCachedStmts = 256

type stmtKey struct {
	db    *sql.DB
	query string
}

var _ Store = (*sqlStore)(nil)

func newSQLStore(d *dialect, w, r *sql.DB, o options) *sqlStore {
	return &sqlStore{d: d, w: w, r: r, clock: o.now, logger: o.logger}
}

// stmt returns a cached prepared statement for q on db, or nil when statements are not cached
// (PostgreSQL, whose pgx driver caches them itself, or a full cache).
func (s *sqlStore) stmt(ctx context.Context, db *sql.DB, q string) (*sql.Stmt, error) {
	if !s.d.cacheStmts {
		return nil, nil
	}
	key := stmtKey{db, q}
	if v, ok := s.stmts.Load(key); ok {
		return v.(*sql.Stmt), nil
	}
	if s.nstmts.Load() >= maxCachedStmts || s.closing.Load() {
		return nil, nil
	}
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if v, loaded := s.stmts.LoadOrStore(key, st); loaded {
		_ = st.Close()
		return v.(*sql.Stmt), nil
	}
	s.nstmts.Add(1)
	return st, nil
}

// now is the store's current time at the precision it stores.
func (s *sqlStore) now() time.Time { return norm(s.clock()) }

// norm converts t to what the store would return for it: UTC, microsecond precision.
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// ts encodes a timestamp parameter.
func (s *sqlStore) ts(t time.Time) any { return s.d.encodeTime(norm(t)) }

// nts encodes a nullable timestamp parameter: the zero time is NULL.
func (s *sqlStore) nts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.ts(t)
}

// njson encodes a nullable JSON parameter as text, which both SQLite TEXT and PostgreSQL json
// columns accept.
func njson(v []byte) any {
	if v == nil {
		return nil
	}
	return string(v)
}

func (s *sqlStore) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	q = s.d.bind(q)
	st, err := s.stmt(ctx, s.w, q)
	if err != nil {
		return nil, err
	}
	if st != nil {
		return st.ExecContext(ctx, args...)
	}
	return s.w.ExecContext(ctx, q, args...)
}

func (s *sqlStore) affected(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := s.exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// query runs a read on the reader pool.
func (s *sqlStore) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return s.queryOn(ctx, s.r, q, args...)
}

// queryOn runs q on db; writes with RETURNING use it with the writer pool.
func (s *sqlStore) queryOn(ctx context.Context, db *sql.DB, q string, args ...any) (*sql.Rows, error) {
	q = s.d.bind(q)
	st, err := s.stmt(ctx, db, q)
	if err != nil {
		return nil, err
	}
	if st != nil {
		return st.QueryContext(ctx, args...)
	}
	return db.QueryContext(ctx, q, args...)
}

// queryRow runs a single-row read on the reader pool.
func (s *sqlStore) queryRow(ctx context.Context, q string, args ...any) rowScanner {
	return s.queryRowOn(ctx, s.r, q, args...)
}

// queryRowOn runs a single-row query on db. A failed prepare surfaces from Scan, like
// database/sql's own QueryRow errors do.
func (s *sqlStore) queryRowOn(ctx context.Context, db *sql.DB, q string, args ...any) rowScanner {
	q = s.d.bind(q)
	st, err := s.stmt(ctx, db, q)
	if err != nil {
		return errRow{err}
	}
	if st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.QueryRowContext(ctx, q, args...)
}

// errRow is a row whose Scan reports err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// Ping implements Store.
func (s *sqlStore) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	if s.r != s.w {
		if err := s.r.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping readers: %w", err)
		}
	}
	return nil
}

// Close implements Store.
func (s *sqlStore) Close() error {
	s.closing.Store(true)
	var err error
	s.stmts.Range(func(_, v any) bool {
		err = errors.Join(err, v.(*sql.Stmt).Close())
		return true
	})
	err = errors.Join(err, s.w.Close())
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	if err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Dialect implements Store.
func (s *sqlStore) Dialect() string { return s.d.name }

// rowScanner is what *sql.Row and *sql.Rows have in common.
type rowScanner interface {
	Scan(dest ...any) error
}

// timeCol scans a timestamp column (time.Time from pgx, text from SQLite); NULL scans as the zero
// time.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*c.t = time.Time{}
	case time.Time:
		*c.t = x.UTC()
	case string:
		return c.parse(x)
	case []byte:
		return c.parse(string(x))
	default:
		return fmt.Errorf("store: cannot scan %T into a timestamp", v)
	}
	return nil
}

func (c timeCol) parse(v string) error {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return fmt.Errorf("store: malformed timestamp %q: %w", v, err)
	}
	*c.t = t.UTC()
	return nil
}

// optTimeCol scans a nullable timestamp column into a *time.Time (nil for NULL).
type optTimeCol struct{ p **time.Time }

func (c optTimeCol) Scan(v any) error {
	var t time.Time
	if err := (timeCol{&t}).Scan(v); err != nil {
		return err
	}
	if t.IsZero() {
		*c.p = nil
	} else {
		*c.p = &t
	}
	return nil
}

// optTime returns a pointer to a copy of *p normalised, or nil for nil/zero.
func optTime(p *time.Time) *time.Time {
	if p == nil || p.IsZero() {
		return nil
	}
	t := norm(*p)
	return &t
}

// filter accumulates WHERE conditions and their arguments.
type filter struct {
	conds []string
	args  []any
}

func (f *filter) add(cond string, args ...any) {
	f.conds = append(f.conds, cond)
	f.args = append(f.args, args...)
}

func (f *filter) where() string {
	if len(f.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(f.conds, " AND ")
}

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return defaultListLimit
	case n > maxListLimit:
		return maxListLimit
	default:
		return n
	}
}

// placeholders returns "?, ?, …" for n parameters.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func required(what, v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("%w: %s is empty", ErrInvalid, what)
	}
	return nil
}

func oneOf(what, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%w: %s %q is not one of %s", ErrInvalid, what, v, strings.Join(allowed, ", "))
}

// notFound turns sql.ErrNoRows into ErrNotFound and wraps other errors with context.
func notFound(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// inTx runs fn in a write transaction, rolling back on error.
func (s *sqlStore) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
