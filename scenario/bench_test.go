package scenario

import (
	"context"
	"testing"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/k8s"
)

// BenchmarkGather measures gather + evidence rendering on each shared
// scenario over the file-backed cluster.
func BenchmarkGather(b *testing.B) {
	for _, s := range loadShared(b) {
		target := investigate.TargetFromLabels(s.Alert().Labels)
		b.Run(s.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				snap, err := s.Gatherer(k8s.Options{}).Gather(context.Background(), target, s.Expect.Category)
				if err != nil {
					b.Fatal(err)
				}
				_ = snap.Evidence()
			}
		})
	}
}
