package kb

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Storm digests: each case is counted once (also when added again, and
// when processes add at once), the ts of the posted message is kept, and a
// digest left alone for its window starts over.
func testSlackDigest(t *testing.T, h harness) {
	ctx := context.Background()
	b, _ := h.open(t, testDims)
	const ch, grp = "C1", "gone\x00KubePodCrashLooping\x00shop"
	if _, err := b.AddToSlackDigest(ctx, "", grp, time.Minute, SlackDigestMember{CaseID: "x"}); err == nil {
		t.Error("a digest without a channel was accepted")
	}
	if err := b.SlackDigestPosted(ctx, ch, "no such group", "1.1"); err == nil {
		t.Error("posted an unknown digest without an error")
	}
	first, err := b.AddToSlackDigest(ctx, ch, grp, time.Minute, SlackDigestMember{CaseID: "case-0", Workload: "checkout", Target: "pod shop/checkout-0"})
	if err != nil || first.CaseID != "case-0" || first.Alerts != 1 || first.ByWorkload["checkout"] != 1 || first.TS != "" ||
		len(first.Samples) != 1 || first.Started.IsZero() {
		t.Fatalf("first add = %+v, %v", first, err)
	}
	if err := b.SlackDigestPosted(ctx, ch, grp, "100.000001"); err != nil {
		t.Fatal(err)
	}
	// Two processes add 40 cases at once, each case twice.
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 1; i <= 40; i++ {
				wl := "checkout"
				if i%4 == 0 {
					wl = "cart"
				}
				if _, err := b.AddToSlackDigest(ctx, ch, grp, time.Minute, SlackDigestMember{CaseID: fmt.Sprintf("case-%d", i),
					Workload: wl, Target: fmt.Sprintf("pod shop/%s-%d", wl, i)}); err != nil {
					t.Errorf("worker %d: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	again, err := b.AddToSlackDigest(ctx, ch, grp, time.Minute, SlackDigestMember{CaseID: "case-0", Workload: "checkout"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Alerts != 41 || again.ByWorkload["checkout"] != 31 || again.ByWorkload["cart"] != 10 || again.TS != "100.000001" ||
		again.CaseID != "case-0" || len(again.Samples) != DigestSamples || !again.Started.Equal(first.Started) {
		t.Fatalf("after 41 distinct cases added 81 times: %+v", again)
	}
	// Another group of the channel is another digest.
	other, err := b.AddToSlackDigest(ctx, ch, "gone\x00KubePodCrashLooping\x00payments", time.Minute, SlackDigestMember{CaseID: "case-0"})
	if err != nil || other.Alerts != 1 || other.TS != "" {
		t.Fatalf("other group = %+v, %v", other, err)
	}
	// Left alone for its window, the digest starts over.
	short := 200 * time.Millisecond
	time.Sleep(2 * short)
	next, err := b.AddToSlackDigest(ctx, ch, grp, short, SlackDigestMember{CaseID: "case-7", Workload: "cart"})
	if err != nil || next.Alerts != 1 || next.TS != "" || next.CaseID != "case-7" || next.ByWorkload["checkout"] != 0 {
		t.Fatalf("a digest after its window = %+v, %v; want a new one carried by case-7", next, err)
	}
	// Its members are new too: a case counted in the old digest counts again.
	if d, err := b.AddToSlackDigest(ctx, ch, grp, time.Minute, SlackDigestMember{CaseID: "case-1"}); err != nil || d.Alerts != 2 {
		t.Fatalf("case-1 in the new digest: %+v, %v; want 2 alerts", d, err)
	}
}
