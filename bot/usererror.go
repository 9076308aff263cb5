package bot

import (
	"context"
	"errors"

	"github.com/k8flex/k8flex/investigate"
)

// UserText turns err into what a person reads in Slack: a short reason and
// what to do, escaped for mrkdwn. Errors a person can act on say so in
// their own words (a request they got wrong, a full queue, a timeout);
// any other error becomes one generic sentence, so no internal detail and
// no secret reaches Slack: log err where it happened. UserText(nil) is "".
func UserText(err error) string {
	if err == nil {
		return ""
	}
	if in, ok := errors.AsType[*investigate.InputError](err); ok {
		return "⚠️ " + Safe(truncate(in.Reason, 300))
	}
	switch {
	case errors.Is(err, investigate.ErrQueueFull):
		return "⏳ Too many investigations are waiting right now; try again in a minute."
	case errors.Is(err, context.DeadlineExceeded):
		return "⏱️ K8flex did not answer in time; try again in a minute."
	case errors.Is(err, context.Canceled):
		return "⏹️ K8flex is restarting; try again in a minute."
	}
	return "⚠️ Something went wrong inside K8flex; the details are in its log. Try again, or ask your K8flex admin."
}
