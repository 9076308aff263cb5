package redact

import (
	"strings"
	"testing"
)

// fuzzSecrets are recognised by their own shape, whatever precedes them.
var fuzzSecrets = []string{awsKeyID, awsSTSKeyID, jwt, slackBot, slackApp, ghToken, ghPAT, glToken, openAIKey, anthropicKey, stripeKey, gcpAPIKey}

// FuzzString checks that String never panics, is idempotent, and removes a
// known secret appended (after a space) to any text.
func FuzzString(f *testing.F) {
	for _, s := range []string{
		"", "plain text", "password=hunter2", "Authorization: Bearer abc123def456ghi789",
		"postgres://app:S3cr3tP4ss@db:5432/app", "-----BEGIN PRIVATE KEY-----\n" + pemBody1 + "\n-----END PRIVATE KEY-----",
		"apiVersion: v1\ndata:\n  password: UzNjcjN0\nkind: Secret", `{"token": "abc123", "x": 1}`,
		"    - name: DB_PASSWORD\n      value: hunter2", "mysql -u root -pS3cret", "--password S3cret! x",
		"token: [REDACTED", `"password": "`, "key=\\\"x", "https://hooks.slack.com/services/" + slackHook,
	} {
		f.Add(s, uint8(len(s)))
	}
	f.Fuzz(func(t *testing.T, s string, pick uint8) {
		out := String(s)
		if again := String(out); again != out {
			t.Fatalf("not idempotent for %q:\n once  %q\n twice %q", s, out, again)
		}
		secret := fuzzSecrets[int(pick)%len(fuzzSecrets)]
		if strings.Contains(s, secret[:8]) {
			return // the input already holds part of the secret; the check below would be ambiguous
		}
		if got := String(s + " " + secret); strings.Contains(got, secret) {
			t.Fatalf("planted secret survives after %q: %q", s, got)
		}
		if got := String(secret + "\n" + s); strings.Contains(got, secret) {
			t.Fatalf("planted secret survives before %q: %q", s, got)
		}
	})
}
