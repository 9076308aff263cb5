package fakeslack

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestWebAPI(t *testing.T) {
	s := New(Options{UserGroups: map[string][]string{"S1": {"U1", "U2"}}})
	defer s.Close()
	api := slack.New(s.BotToken(), slack.OptionAPIURL(s.APIURL()))
	ctx := context.Background()

	if _, err := slack.New("xoxb-wrong", slack.OptionAPIURL(s.APIURL())).AuthTestContext(ctx); err == nil || err.Error() != "invalid_auth" {
		t.Errorf("auth.test with a wrong token = %v, want invalid_auth", err)
	}
	_, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi <!here>", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("bye", false)); err != nil {
		t.Fatal(err)
	}
	if m, ok := s.Message("C1", ts); !ok || m.Text != "bye" || m.Updates != 1 {
		t.Errorf("stored message = %+v", m)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", "1.2", slack.MsgOptionText("x", false)); err == nil {
		t.Error("updating an unknown message succeeded")
	}
	s.RateLimit("chat.update", 2*time.Second)
	_, _, _, err = api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("again", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Errorf("rate-limited update = %v, want RateLimitedError after 2s", err)
	}
	if calls := s.Calls("chat.update"); len(calls) != 3 || calls[2].Status != 429 {
		t.Errorf("recorded chat.update calls = %+v", calls)
	}
	members, err := api.GetUserGroupMembersContext(ctx, "S1")
	if err != nil || len(members) != 2 {
		t.Errorf("usergroups.users.list = %v, %v", members, err)
	}
	_, sts, err := api.StartStreamContext(ctx, "C1", slack.MsgOptionTS(ts), slack.MsgOptionMarkdownText("a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.AppendStreamContext(ctx, "C1", sts, slack.MsgOptionMarkdownText("b")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.StopStreamContext(ctx, "C1", sts, slack.MsgOptionMarkdownText("c")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.AppendStreamContext(ctx, "C1", sts, slack.MsgOptionMarkdownText("d")); err == nil {
		t.Error("appending to a stopped stream succeeded")
	}
	if m, _ := s.Message("C1", sts); m.Markdown != "abc" || m.ThreadTS != ts {
		t.Errorf("stream = %+v", m)
	}
}

// ClickButton clicks only buttons the message shows.
func TestClickButtonNeedsTheButton(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	api := slack.New(s.BotToken(), slack.OptionAPIURL(s.APIURL()))
	_, ts, err := api.PostMessageContext(context.Background(), "C1", slack.MsgOptionBlocks(
		slack.NewActionBlock("b", slack.NewButtonBlockElement("yes", "case-1", slack.NewTextBlockObject("plain_text", "Yes", false, false)))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClickButton("U1", "C1", ts, "no"); err == nil || !strings.Contains(err.Error(), "no such button") {
		t.Errorf("clicking a button the message lacks: err = %v", err)
	}
	if _, err := s.ClickButton("U1", "C1", "9.9", "yes"); err == nil {
		t.Error("clicking on an unknown message succeeded")
	}
	// The button exists; without a Socket Mode connection it cannot be sent.
	if _, err := s.ClickButton("U1", "C1", ts, "yes"); err == nil || !strings.Contains(err.Error(), "no socket mode connection") {
		t.Errorf("clicking without a connection: err = %v", err)
	}
}

// LimitPosts holds each channel to its own bucket; RejectUpdates answers
// its share of updates 429.
func TestSlackLimits(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	api := slack.New(s.BotToken(), slack.OptionAPIURL(s.APIURL()))
	ctx := context.Background()
	s.LimitPosts(time.Second, 2)
	var ts string
	for i := range 2 {
		var err error
		if _, ts, err = api.PostMessageContext(ctx, "C1", slack.MsgOptionText("burst", false)); err != nil {
			t.Fatalf("post %d within the burst: %v", i, err)
		}
	}
	_, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("one too many", false))
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); !ok || rl.RetryAfter != time.Second {
		t.Errorf("third post in a second = %v, want 429 with Retry-After 1s", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C2", slack.MsgOptionText("other channel", false)); err != nil {
		t.Errorf("a post in another channel: %v", err)
	}
	if n := len(s.Messages()); n != 3 {
		t.Errorf("%d messages stored, want 3 (the rejected post is not)", n)
	}

	s.RejectUpdates(0.3)
	limited := 0
	for range 10 {
		_, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("again", false))
		if _, ok := errors.AsType[*slack.RateLimitedError](err); ok {
			limited++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if limited != 3 {
		t.Errorf("%d of 10 updates answered 429, want 3", limited)
	}
}

// While unreachable, calls fail with a network error, not a Slack answer.
func TestUnreachable(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	api := slack.New(s.BotToken(), slack.OptionAPIURL(s.APIURL()))
	ctx := context.Background()
	s.SetUnreachable(true)
	_, err := api.AuthTestContext(ctx)
	if err == nil {
		t.Fatal("auth.test succeeded while unreachable")
	}
	if _, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		t.Errorf("auth.test while unreachable = Slack's answer %v, want a network error", err)
	}
	if c := s.Calls("auth.test"); len(c) != 1 || c[0].Status != 0 {
		t.Errorf("recorded calls = %+v, want one unanswered", c)
	}
	s.SetUnreachable(false)
	if _, err := api.AuthTestContext(ctx); err != nil {
		t.Errorf("auth.test after coming back: %v", err)
	}
}

// LimitUpdates holds chat.update to limit accepted calls in any window,
// answering 429 with the time until the oldest leaves it.
func TestLimitUpdates(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	api := slack.New(s.BotToken(), slack.OptionAPIURL(s.APIURL()))
	ctx := context.Background()
	_, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false))
	if err != nil {
		t.Fatal(err)
	}
	s.LimitUpdates(3, 3*time.Second)
	for i := range 3 {
		if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("x", false)); err != nil {
			t.Fatalf("update %d within the limit: %v", i, err)
		}
	}
	_, _, _, err = api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("y", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter < 2*time.Second || rl.RetryAfter > 3*time.Second {
		t.Fatalf("the 4th update in the window = %v, want 429 with Retry-After about 3 s", err)
	}
	s.LimitUpdates(0, 0)
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("z", false)); err != nil {
		t.Errorf("update after lifting the limit: %v", err)
	}
}
