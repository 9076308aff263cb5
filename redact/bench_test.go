package redact

import (
	"fmt"
	"strings"
	"testing"
)

// realisticLog builds a 100-line container log: mostly ordinary lines
// (requests, IPs, k8s names, digests, the word "token" in prose) with a
// few planted secrets, as the collectors hand it over.
func realisticLog() string {
	var b strings.Builder
	for i := 0; i < 100; i++ {
		ts := fmt.Sprintf("2026-11-17T09:%02d:%02d.%03dZ", i/60, i%60, i*7%1000)
		switch i % 10 {
		case 0:
			fmt.Fprintf(&b, "%s INFO http: GET /api/v1/orders/%d 200 %dms remote=10.244.%d.%d:51234 ua=\"Go-http-client/1.1\"\n", ts, 4000+i, i%40, i%8, i%250)
		case 1:
			fmt.Fprintf(&b, "%s DEBUG cache: hit key=orders:%d ttl=300s\n", ts, i)
		case 2:
			fmt.Fprintf(&b, "%s INFO k8s: watching pod shop/inventory-api-5d8f9c7b64-xk2vq uid=9f66a917-01e5-4a65-95e7-3fd5a14dd4c4 rv=%d\n", ts, 58221754+i)
		case 3:
			fmt.Fprintf(&b, "%s WARN auth: token expired for session %d, refreshing token\n", ts, i)
		case 4:
			fmt.Fprintf(&b, "%s INFO image registry.acme.io/shop/api@sha256:4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b ready\n", ts)
		case 5:
			fmt.Fprintf(&b, "%s ERROR db: dial tcp 10.96.%d.12:5432: connect: connection refused (attempt %d/5)\n", ts, i%4, i%5+1)
		case 6:
			fmt.Fprintf(&b, "%s INFO worker: processed batch %d in 1.%02ds (%d items, exit code 0)\n", ts, i, i, i*13)
		case 7:
			if i == 17 {
				fmt.Fprintf(&b, "%s DEBUG config: DATABASE_URL=postgres://app:S3cr3tP4ss@db:5432/app AWS_ACCESS_KEY_ID=%s\n", ts, awsKeyID)
			} else {
				fmt.Fprintf(&b, "%s INFO grpc: upstream payments.shop.svc.cluster.local:9090 healthy\n", ts)
			}
		case 8:
			if i == 48 {
				fmt.Fprintf(&b, "%s DEBUG http: outgoing request Authorization: Bearer %s\n", ts, jwt)
			} else {
				fmt.Fprintf(&b, "%s INFO metrics: heap=%dMi goroutines=%d gc=%d\n", ts, 100+i, 40+i, i)
			}
		default:
			fmt.Fprintf(&b, "%s INFO scheduler: next run at 2026-11-17T10:00:00Z (in %dm)\n", ts, 60-i%60)
		}
	}
	return b.String()
}

func BenchmarkString(b *testing.B) {
	log := realisticLog()
	if out := String(log); strings.Contains(out, awsKeyID) || strings.Contains(out, "S3cr3tP4ss") || strings.Contains(out, jwt) {
		b.Fatal("planted secret survived")
	}
	b.SetBytes(int64(len(log)))
	b.ReportAllocs()
	for b.Loop() {
		_ = String(log)
	}
}

func BenchmarkStringClean(b *testing.B) {
	var sb strings.Builder
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&sb, "2026-11-17T09:00:%02dZ INFO http: GET /api/v1/orders/%d 200 %dms remote=10.244.1.%d:51234\n", i%60, i, i%40, i)
	}
	log := sb.String()
	b.SetBytes(int64(len(log)))
	b.ReportAllocs()
	for b.Loop() {
		_ = String(log)
	}
}
