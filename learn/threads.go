package learn

import (
	"context"
	"errors"
	"fmt"

	"github.com/k8flex/k8flex/kb"
)

// Message is a Slack message of a case's thread.
type Message struct {
	Case    string
	Channel string
	// ThreadTS is the thread's root; TS the message (TS == ThreadTS for
	// the root itself).
	ThreadTS string
	TS       string
}

// LinkMessage remembers m in the store: a root message becomes the case's
// thread, any other message one of the thread's, so that a verdict on it
// finds the case after a restart and on every replica. Messages of
// requests that are not recorded cases are skipped (nil).
func (l *Loop) LinkMessage(ctx context.Context, m Message) error {
	var err error
	if m.TS == m.ThreadTS {
		err = l.st.SetThread(ctx, m.Case, m.Channel, m.ThreadTS)
	} else {
		err = l.st.LinkMessage(ctx, m.Case, m.Channel, m.TS)
	}
	if err != nil && !errors.Is(err, kb.ErrNotFound) {
		return fmt.Errorf("remember slack message %s/%s of case %s: %w", m.Channel, m.TS, m.Case, err)
	}
	return nil
}

// CaseByMessage finds the case of a thread root or of a linked reply; ok
// is false when the message belongs to no case.
func (l *Loop) CaseByMessage(ctx context.Context, channel, ts string) (m Message, ok bool, err error) {
	c, err := l.st.CaseByMessage(ctx, channel, ts)
	if errors.Is(err, kb.ErrNotFound) {
		return Message{}, false, nil
	}
	if err != nil {
		return Message{}, false, fmt.Errorf("find the case of slack message %s/%s: %w", channel, ts, err)
	}
	return Message{Case: c.ID, Channel: channel, ThreadTS: c.ThreadTS, TS: ts}, true, nil
}
