// Package pgtest gives tests a PostgreSQL 15 + pgvector database of their
// own on the server scripts/postgres.sh starts (K8FLEX_TEST_DATABASE_URL).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// URL returns K8FLEX_TEST_DATABASE_URL. Without it the test is skipped,
// except under CI (CI set), where scripts/postgres.sh must have run and a
// missing URL fails the test.
func URL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("K8FLEX_TEST_DATABASE_URL")
	if u == "" {
		if os.Getenv("CI") != "" {
			tb.Fatal("K8FLEX_TEST_DATABASE_URL is not set under CI: run `eval \"$(scripts/postgres.sh)\"` before the tests")
		}
		tb.Skip("K8FLEX_TEST_DATABASE_URL is not set: run `eval \"$(scripts/postgres.sh)\"` to start a PostgreSQL 15 + pgvector test server")
	}
	return u
}

// Database creates a database of its own for one test (so tests run in
// parallel), drops it when the test ends, and returns its URL. prefix
// names it (k8flex_<prefix>_<random>).
func Database(tb testing.TB, prefix string) string {
	tb.Helper()
	base := URL(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to K8FLEX_TEST_DATABASE_URL (is scripts/postgres.sh running?): %v", err)
	}
	defer admin.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "k8flex_" + prefix + "_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create test database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Logf("drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("parse K8FLEX_TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}
