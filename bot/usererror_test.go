package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/k8flex/k8flex/investigate"
)

func TestUserText(t *testing.T) {
	const secret = "postgres://k8flex:hunter2@db.internal:5432/k8flex"
	_, _, parseErr := investigate.ParseTarget("widget/<b>x")
	for _, tt := range []struct {
		name    string
		err     error
		want    string // a part of the text
		mustNot []string
	}{
		{name: "nil", err: nil, want: ""},
		{name: "a target that does not parse is shown, escaped", err: fmt.Errorf("parse: %w", parseErr),
			want: "is not a valid Kubernetes name", mustNot: []string{"<b>", "parse:"}},
		{name: "a full queue says to try again", err: fmt.Errorf("queue investigation: %w", investigate.ErrQueueFull), want: "try again in a minute"},
		{name: "a deadline says to try again", err: fmt.Errorf("claim: %w", context.DeadlineExceeded), want: "did not answer in time"},
		{name: "anything else hides its detail", err: fmt.Errorf("open knowledge base at %s: %w", secret, errors.New("connection refused")),
			want: "details are in its log", mustNot: []string{"hunter2", "db.internal", "connection refused"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := UserText(tt.err)
			if !strings.Contains(got, tt.want) || (tt.want == "" && got != "") {
				t.Errorf("UserText = %q, want it to contain %q", got, tt.want)
			}
			for _, bad := range tt.mustNot {
				if strings.Contains(got, bad) {
					t.Errorf("UserText = %q shows %q", got, bad)
				}
			}
		})
	}
}
