package kb

import (
	"encoding/json"
	"testing"
	"time"
)

func TestBodyEncoding(t *testing.T) {
	req := stormAlert("enc", 7, time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC))
	res := goneResult("id-7", req)
	body := &caseBody{Analysis: res.Analysis.Text, Findings: res.Findings, Evidence: res.Evidence, Request: &req}
	plain, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	packed, err := encodeBody(body)
	if err != nil {
		t.Fatal(err)
	}
	if packed[0] != bodyDeflated || len(packed) >= len(plain)*3/4 {
		t.Errorf("encoded body: tag %#x, %d bytes for %d of JSON; want deflated to under 3/4", packed[0], len(packed), len(plain))
	}
	for _, tt := range []struct {
		name   string
		stored []byte
	}{
		{"deflated", packed},
		{"plain JSON of earlier files", plain},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for range 3 { // reused inflaters must start clean
				var got caseBody
				if err := decodeBody(tt.stored, &got); err != nil {
					t.Fatal(err)
				}
				again, _ := json.Marshal(&got)
				if string(again) != string(plain) {
					t.Fatalf("decoded body differs:\n got %s\nwant %s", again, plain)
				}
			}
		})
	}
	var got caseBody
	if err := decodeBody(packed[:len(packed)/2], &got); err == nil {
		t.Error("a truncated body decoded without error")
	}
}
