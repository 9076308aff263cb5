package redact

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/k8flex/k8flex/internal/sharedtest"
)

// Planted, fake credentials (documentation examples or made up).
const (
	awsKeyID     = "AKIAIOSFODNN7EXAMPLE"
	awsSTSKeyID  = "ASIAY34FZKBOKMUTVV7A"
	awsSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	jwt          = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
	slackBot     = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
	slackApp     = "xapp-1-A0123BCDEFG-1234567890123-0a1b2c3d4e5f6a7b8c9d"
	slackUser    = "xoxp-123456789012-123456789012-1234567890123-0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d"
	slackHook    = "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
	ghToken      = "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"
	ghPAT        = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012"
	glToken      = "glpat-Xy7zAb9cDe1fGh3iJk5L"
	openAIKey    = "sk-proj-Ab3De5Fg7Hi9Jk1Lm3No5Pq7Rs9Tu1Vw3Xy5Za7Bc9"
	openAILegacy = "sk-Zq8Wx7Ec6Rv5Tb4Yn3Um2Ik1Ol0PpAaSsDdFfGgHhJjKkLl"
	anthropicKey = "sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe-AbCdEfGhIj_kLmN"
	stripeKey    = "sk_live_51HqLyjWDarjtT1zdp7dcXyZ"
	gcpAPIKey    = "AIzaSyA-1234567890abcdefghijklmnopqrstu"
	azureKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	pemBody1     = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj"
	pemBody2     = "MkJfWdE6Tgm3mX8YqR2kQcZLvH0aNn9sE4tU1yB7wPq5oR6iJ3xD2fG8hL0cV"
)

func TestString(t *testing.T) {
	pem := "-----BEGIN RSA PRIVATE KEY-----\n" + pemBody1 + "\n" + pemBody2 + "\n-----END RSA PRIVATE KEY-----"
	for _, tt := range []struct {
		name, in, want string
	}{
		{"aws access key id", "using key " + awsKeyID + " for s3", "using key [REDACTED] for s3"},
		{"aws sts key id", "AccessKeyId: " + awsSTSKeyID, "AccessKeyId: [REDACTED]"},
		{"aws secret env", "aws_secret_access_key=" + awsSecret, "aws_secret_access_key=[REDACTED]"},
		{"aws secret yaml upper", "AWS_SECRET_ACCESS_KEY: " + awsSecret, "AWS_SECRET_ACCESS_KEY: [REDACTED]"},
		{"aws secret json", `{"SecretAccessKey": "` + awsSecret + `", "Expiration": "2026-11-18T07:00:00Z"}`,
			`{"SecretAccessKey": "[REDACTED]", "Expiration": "2026-11-18T07:00:00Z"}`},
		{"aws secret python dict", `{'AWS_ACCESS_KEY_ID': '` + awsKeyID + `', 'AWS_SECRET_ACCESS_KEY': '` + awsSecret + `', 'AWS_REGION': 'eu-west-1'}`,
			`{'AWS_ACCESS_KEY_ID': '[REDACTED]', 'AWS_SECRET_ACCESS_KEY': '[REDACTED]', 'AWS_REGION': 'eu-west-1'}`},
		{"gcp api key", "GET /maps/api/geocode/json?address=x&key=" + gcpAPIKey, "GET /maps/api/geocode/json?address=x&key=[REDACTED]"},
		{"gcp service account json escaped pem", `{"type": "service_account", "private_key_id": "3f1c9a7e5b2d4c6e8a0b1c2d3e4f5a6b7c8d9e0f", "private_key": "-----BEGIN PRIVATE KEY-----\n` + pemBody1 + `\n-----END PRIVATE KEY-----\n", "client_email": "sa@proj.iam.gserviceaccount.com"}`,
			`{"type": "service_account", "private_key_id": "[REDACTED]", "private_key": "[REDACTED]", "client_email": "sa@proj.iam.gserviceaccount.com"}`},
		{"escaped pem without key name", `key material: -----BEGIN EC PRIVATE KEY-----\n` + pemBody1 + `\n-----END EC PRIVATE KEY-----`,
			`key material: -----BEGIN EC PRIVATE KEY-----[REDACTED]-----END EC PRIVATE KEY-----`},
		{"azure connection string", "DefaultEndpointsProtocol=https;AccountName=acmestore;AccountKey=" + azureKey + ";EndpointSuffix=core.windows.net",
			"DefaultEndpointsProtocol=https;AccountName=acmestore;AccountKey=[REDACTED];EndpointSuffix=core.windows.net"},
		{"azure sas signature", "https://acmestore.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA%3D%3D",
			"https://acmestore.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=[REDACTED]"},
		{"pem multi-line", "loaded key:\n" + pem + "\ndone", "loaded key:\n-----BEGIN RSA PRIVATE KEY-----\n[REDACTED]\n-----END RSA PRIVATE KEY-----\ndone"},
		{"pem truncated", "-----BEGIN OPENSSH PRIVATE KEY-----\n" + pemBody1 + "\n" + pemBody2, "-----BEGIN OPENSSH PRIVATE KEY-----\n[REDACTED]"},
		{"pem encrypted headers", "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F17F5316E2BAC89\n\n" + pemBody1 + "\n-----END RSA PRIVATE KEY-----",
			"-----BEGIN RSA PRIVATE KEY-----\n[REDACTED]\n\n-----END RSA PRIVATE KEY-----"},
		{"jwt", "token verified: " + jwt + " (exp 1763450000)", "token verified: [REDACTED] (exp 1763450000)"},
		{"authorization bearer", "Authorization: Bearer abc123def456ghi789", "Authorization: Bearer [REDACTED]"},
		{"authorization in a printed Go header map", `headers="map[Authorization:[Bearer lw_live_7hQ2mK9xP4vR8tN3cY6bZ1wF5jD0sAe] Accept:[*/*]]"`,
			`headers="map[Authorization:[Bearer [REDACTED]] Accept:[*/*]]"`},
		{"authorization basic", `"authorization": "Basic dXNlcjpwYXNzd29yZA=="`, `"authorization": "Basic [REDACTED]"`},
		{"bare bearer", `curl -H "X-Trace: 1" with bearer ` + jwt, `curl -H "X-Trace: 1" with bearer [REDACTED]`},
		{"bare bearer opaque", "sending Bearer 9f8e7d6c5b4a39281706", "sending Bearer [REDACTED]"},
		{"slack bot token", "SLACK_BOT_TOKEN=" + slackBot, "SLACK_BOT_TOKEN=[REDACTED]"},
		{"slack tokens in prose", "bot " + slackBot + " app " + slackApp + " user " + slackUser, "bot [REDACTED] app [REDACTED] user [REDACTED]"},
		{"slack webhook", "posting to https://hooks.slack.com/services/" + slackHook + " failed", "posting to https://hooks.slack.com/services/[REDACTED] failed"},
		{"github tokens", "cloning with " + ghToken + " and " + ghPAT, "cloning with [REDACTED] and [REDACTED]"},
		{"github token in url", "https://x-access-token:" + ghToken + "@github.com/acme/repo.git", "https://x-access-token:[REDACTED]@github.com/acme/repo.git"},
		{"gitlab token", "PRIVATE-TOKEN " + glToken, "PRIVATE-TOKEN [REDACTED]"},
		{"openai keys", "openai " + openAIKey + " legacy " + openAILegacy, "openai [REDACTED] legacy [REDACTED]"},
		{"anthropic key", "x-api-key: " + anthropicKey, "x-api-key: [REDACTED]"},
		{"stripe key", "stripe.api_key set (" + stripeKey + ")", "stripe.api_key set ([REDACTED])"},
		{"postgres dsn", "connecting to postgres://app:S3cr3tP4ss@db.shop.svc:5432/app?sslmode=disable", "connecting to postgres://app:[REDACTED]@db.shop.svc:5432/app?sslmode=disable"},
		{"redis url empty user", "REDIS_URL=redis://:hunter2@redis:6379/0", "REDIS_URL=redis://:[REDACTED]@redis:6379/0"},
		{"amqp password with at", "amqp://guest:p@ss@rabbit:5672/", "amqp://guest:[REDACTED]@rabbit:5672/"},
		{"go mysql dsn", "dsn=shop:Hunter2!@tcp(mysql:3306)/shop?parseTime=true", "dsn=shop:[REDACTED]@tcp(mysql:3306)/shop?parseTime=true"},
		{"libpq key value dsn", "host=db user=app password=Zk9pQ2 dbname=app", "host=db user=app password=[REDACTED] dbname=app"},
		{"jdbc", "jdbc:sqlserver://db:1433;databaseName=shop;user=sa;password=Pa55w0rd;", "jdbc:sqlserver://db:1433;databaseName=shop;user=sa;password=[REDACTED];"},
		{"password yaml", "  password: correct horse battery staple", "  password: [REDACTED]"},
		{"passwd colon", "passwd: Tr0ub4dor&3", "passwd: [REDACTED]"},
		{"secret assignment", "WEBHOOK_SECRET=whsec_not_a_real_one_1234", "WEBHOOK_SECRET=[REDACTED]"},
		{"token query string", "GET /callback?state=abc&token=f00dbabe1234&next=/home", "GET /callback?state=abc&token=[REDACTED]&next=/home"},
		{"api_key json", `{"api_key":"k-12345-abcde","region":"us"}`, `{"api_key":"[REDACTED]","region":"us"}`},
		{"apikey yaml", "apikey: 0a1b2c3d4e5f", "apikey: [REDACTED]"},
		{"client_secret", "client_id=web&client_secret=Q2xpZW50U2VjcmV0&grant_type=client_credentials", "client_id=web&client_secret=[REDACTED]&grant_type=client_credentials"},
		{"escaped json in log", `msg="{\"user\":\"bob\",\"password\":\"pa55word\"}"`, `msg="{\"user\":\"bob\",\"password\":\"[REDACTED]\"}"`},
		{"logfmt token", `level=info msg="refreshed" token=Zm9vYmFy expires_in=3600`, `level=info msg="refreshed" token=[REDACTED] expires_in=3600`},
		{"mid-line password colon", "login with password: hunter22 failed", "login with password: [REDACTED] failed"},
		{"cli double dash flag", "exec: pg_dump --host db --password S3cret! --dbname app", "exec: pg_dump --host db --password [REDACTED] --dbname app"},
		{"cli equals flag", "args: [--db-password=S3cret! --port=5432]", "args: [--db-password=[REDACTED] --port=5432]"},
		{"mysql -p", "running: mysql -h db -u root -pS3cretPw shop", "running: mysql -h db -u root -p[REDACTED] shop"},
		{"env high entropy key", "ENCRYPTION_SALT_KEY=9f3Kd82LmQp0Zx7vB4nW", "ENCRYPTION_SALT_KEY=[REDACTED]"},
		{"env camel key high entropy", `"hmacKey": "Q9z8Y7x6W5v4U3t2S1r0"`, `"hmacKey": "[REDACTED]"`},
		{"env name value yaml", "    - name: DB_PASSWORD\n      value: hunter2\n    - name: LOG_LEVEL\n      value: info",
			"    - name: DB_PASSWORD\n      value: [REDACTED]\n    - name: LOG_LEVEL\n      value: info"},
		{"env name value json", `"env":[{"name":"API_TOKEN","value":"abc123"},{"name":"PORT","value":"8080"}]`,
			`"env":[{"name":"API_TOKEN","value":"[REDACTED]"},{"name":"PORT","value":"8080"}]`},
		{"kubernetes secret yaml", "apiVersion: v1\ndata:\n  password: UzNjcjN0\n  tls.key: |\n    LS0tLS1CRUdJTg==\n    QUJDREVG\nkind: Secret\nmetadata:\n  name: db-creds\ntype: Opaque",
			"apiVersion: v1\ndata:\n  password: [REDACTED]\n  tls.key: |\n    [REDACTED]\n    [REDACTED]\nkind: Secret\nmetadata:\n  name: db-creds\ntype: Opaque"},
		{"configmap data untouched next to secret", "apiVersion: v1\ndata:\n  LOG_LEVEL: debug\nkind: ConfigMap\n---\napiVersion: v1\nstringData:\n  user: admin\nkind: Secret",
			"apiVersion: v1\ndata:\n  LOG_LEVEL: debug\nkind: ConfigMap\n---\napiVersion: v1\nstringData:\n  user: [REDACTED]\nkind: Secret"},
		{"kubernetes secret json one line", `{"apiVersion":"v1","data":{"user":"YWRtaW4=","pw":"UzNjcjN0"},"kind":"Secret","metadata":{"name":"db"}}`,
			`{"apiVersion":"v1","data":{"user":"[REDACTED]","pw":"[REDACTED]"},"kind":"Secret","metadata":{"name":"db"}}`},
		{"kubernetes secret json pretty", "{\n  \"apiVersion\": \"v1\",\n  \"data\": {\n    \"user\": \"YWRtaW4=\"\n  },\n  \"kind\": \"Secret\"\n}",
			"{\n  \"apiVersion\": \"v1\",\n  \"data\": {\n    \"user\": \"[REDACTED]\"\n  },\n  \"kind\": \"Secret\"\n}"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := String(tt.in)
			if got != tt.want {
				t.Errorf("String(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if again := String(got); again != got {
				t.Errorf("not idempotent: second pass gives %q", again)
			}
		})
	}
}

// TestStringKeepsOrdinaryText pins false positives: ordinary log lines and
// Kubernetes output must come out unchanged.
func TestStringKeepsOrdinaryText(t *testing.T) {
	for _, tt := range []struct{ name, in string }{
		{"exit code", "Last State: Terminated Reason: Error Exit Code: 137 Started: Mon, 17 Nov 2026 09:20:41 +0000"},
		{"ip and port", "dial tcp 10.96.0.10:53: i/o timeout; upstream 172.20.4.17:8443 refused"},
		{"image digest", "Pulled image registry.acme.io/shop/api@sha256:4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b"},
		{"uid", "uid: 9f66a917-01e5-4a65-95e7-3fd5a14dd4c4 resourceVersion: 58221754"},
		{"timestamps", "2026-11-17T09:21:04.117Z INFO started in 1.27s"},
		{"k8s names", "pod/sk-payments-worker-7d9f8c6b5-x2x8q scheduled to node asia-east1-pool-2-8f3a"},
		{"word token in prose", "failed to refresh token: upstream returned 401; token expired, requesting a new token"},
		{"invalid token colon word", "error: invalid token: signature mismatch"},
		{"bearer in prose", "the bearer token is missing from the request"},
		{"authorization prose", "authorization: denied for user alice"},
		{"secret not found event", `Error: secret "inventory-db" not found`},
		{"secret key ref event", "Error: couldn't find key api_key in Secret payments/stripe-credentials"},
		{"pod spec secret refs", "    secretKeyRef:\n      key: password\n      name: inventory-db\n  volumes:\n  - name: certs\n    secret:\n      secretName: api-tls\n  automountServiceAccountToken: false"},
		{"projected token", "  - serviceAccountToken:\n      expirationSeconds: 3607\n      path: token"},
		{"toleration keys", "  - key: node.kubernetes.io/not-ready\n    operator: Exists\n  - key: dedicated\n    value: gpu"},
		{"max tokens", `{"max_tokens": 1024, "tokens_used": 512, "token_type": "Bearer"}`},
		{"pwd env", "PWD=/app HOME=/home/app"},
		{"password prose", "FATAL: password authentication failed for user \"app\""},
		{"templated secret", `password: ${DB_PASSWORD}`},
		{"certificate is public", "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n-----END CERTIFICATE-----"},
		{"git sha", "commit 3f1c9a7e5b2d4c6e8a0b1c2d3e4f5a6b7c8d9e0f built at 2026-11-17"},
		{"url without password", "GET https://api.acme.io/v1/orders?page=2 200 12ms; https://user@git.acme.io/x"},
		{"configmap data", "apiVersion: v1\ndata:\n  password_min_length: \"12\"\n  LOG_LEVEL: info\nkind: ConfigMap"},
		{"disk word", "disk-pressure on node worker-3; sk-ui ok"},
		{"cache key low entropy", "cache_key=user:42:profile partition_key: orders"},
		{"mysql port flag", "mysql -h db -P3306 -u app --port 3306"},
		{"comparison", "if token == nil { return }"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := String(tt.in); got != tt.in {
				t.Errorf("String changed ordinary text\n got %q\nwant %q", got, tt.in)
			}
		})
	}
}

func TestLines(t *testing.T) {
	in := []string{
		"starting",
		"-----BEGIN PRIVATE KEY-----",
		pemBody1,
		pemBody2,
		"-----END PRIVATE KEY-----",
		"DB_PASSWORD=hunter2",
		"multi\nAKIAIOSFODNN7EXAMPLE",
	}
	want := []string{
		"starting",
		"-----BEGIN PRIVATE KEY-----",
		Mask,
		Mask,
		"-----END PRIVATE KEY-----",
		"DB_PASSWORD=" + Mask,
		"multi\n" + Mask,
	}
	orig := append([]string(nil), in...)
	got := Lines(in)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Lines()\n got %q\nwant %q", got, want)
	}
	if !reflect.DeepEqual(in, orig) {
		t.Errorf("Lines modified its input: %q", in)
	}
	if Lines(nil) != nil {
		t.Error("Lines(nil) != nil")
	}
	plain := []string{"a", "b"}
	if got := Lines(plain); !reflect.DeepEqual(got, plain) {
		t.Errorf("Lines(%q) = %q", plain, got)
	}
}

func TestMap(t *testing.T) {
	in := map[string]string{
		"alertname":         "KubePodCrashLooping",
		"namespace":         "shop",
		"db_password":       "hunter2",
		"api-token":         "abc",
		"client_secret":     "xyz",
		"apikey":            "k",
		"Authorization":     "Basic dXNlcjpwYXNz",
		"secretName":        "db-creds",
		"empty_token":       "",
		"description":       "pod logs show " + awsKeyID,
		"monitoring_key":    "severity",
		"automount_service": "true",
	}
	want := map[string]string{
		"alertname":         "KubePodCrashLooping",
		"namespace":         "shop",
		"db_password":       Mask,
		"api-token":         Mask,
		"client_secret":     Mask,
		"apikey":            Mask,
		"Authorization":     Mask,
		"secretName":        "db-creds",
		"empty_token":       "",
		"description":       "pod logs show " + Mask,
		"monitoring_key":    "severity",
		"automount_service": "true",
	}
	got := Map(in)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Map()\n got %v\nwant %v", got, want)
	}
	if in["db_password"] != "hunter2" {
		t.Error("Map modified its input")
	}
	if Map(nil) != nil {
		t.Error("Map(nil) != nil")
	}
}

func TestStringUnchangedReturnsSameString(t *testing.T) {
	s := "plain line with no trigger at all\nand another"
	if got := String(s); got != s {
		t.Fatalf("got %q", got)
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = String(s) }); allocs != 0 {
		t.Errorf("String allocated %v times on text without triggers", allocs)
	}
}

// TestSharedScenarioSecrets checks the planted secrets of the shared
// scenarios (must_not_contain) are gone from every log file once redacted.
func TestSharedScenarioSecrets(t *testing.T) {
	root := sharedtest.Dir(t, "scenarios")
	expects, err := filepath.Glob(filepath.Join(root, "*", "expect.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, e := range expects {
		raw, err := os.ReadFile(e)
		if err != nil {
			t.Fatal(err)
		}
		var exp struct {
			MustNotContain []string `json:"must_not_contain"`
		}
		if err := yaml.Unmarshal(raw, &exp); err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		if len(exp.MustNotContain) == 0 {
			continue
		}
		dir := filepath.Dir(e)
		err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || filepath.Base(p) == "expect.yaml" {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out := String(string(b))
			for _, s := range exp.MustNotContain {
				if strings.Contains(out, s) {
					t.Errorf("%s: %q survives redaction", p, s)
				}
			}
			checked++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked == 0 {
		t.Fatal("no scenario with must_not_contain found")
	}
}
