package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
)

// BotScopes are the bot token scopes app-manifest.yaml asks for; a test
// keeps the two equal.
var BotScopes = []string{"channels:read", "chat:write", "commands", "files:write", "groups:read", "reactions:read", "usergroups:read"}

// SlackConfig is what the Slack checks need.
type SlackConfig struct {
	// APIURL is the Web API base URL ending in "/"; empty = Slack's.
	APIURL   string
	BotToken string
	AppToken string
	// Channel is the alert channel's id (slack.channel).
	Channel string
	// Client makes the requests (http.DefaultClient when nil).
	Client *http.Client
}

const manifestFix = "add them under OAuth & Permissions → Scopes (or update the app from app-manifest.yaml), then reinstall the app to the workspace"

// Slack returns the Slack checks: the bot token is valid (auth.test), it
// has every scope of app-manifest.yaml, the bot is a member of the alert
// channel (conversations.info), and the app-level token opens a Socket
// Mode connection that says hello. Without tokens they are skipped:
// K8flex then runs without Slack.
func Slack(cfg SlackConfig) []Check {
	c := &slackChecks{cfg: cfg, api: cfg.APIURL, hc: cfg.Client}
	if c.api == "" {
		c.api = slack.APIURL
	}
	if c.hc == nil {
		c.hc = http.DefaultClient
	}
	return []Check{
		{Name: "slack: bot token", Run: c.botToken},
		{Name: "slack: bot scopes", Run: c.botScopes},
		{Name: "slack: bot in the alert channel", Run: c.alertChannel},
		{Name: "slack: Socket Mode connects", Run: c.socketMode},
	}
}

// slackChecks are the Slack checks of one configuration. They run in
// order: botToken records whether the bot token is valid and its scopes,
// which the later bot checks read.
type slackChecks struct {
	cfg SlackConfig
	api string
	hc  *http.Client

	botOK       bool
	scopes      []string
	scopesKnown bool
}

// botToken checks that the bot token is an xoxb- token that auth.test
// accepts, and records its scopes.
func (c *slackChecks) botToken(ctx context.Context) Result {
	if c.cfg.BotToken == "" {
		return Skipped("slack.bot_token is not set: K8flex runs without Slack and prints analyses to its log")
	}
	fix := "set slack.bot_token (K8FLEX_SLACK_BOT_TOKEN) to the app's Bot User OAuth Token (xoxb-…, OAuth & Permissions)"
	if !strings.HasPrefix(c.cfg.BotToken, "xoxb-") {
		return Failed(fix, "slack.bot_token is not a bot token (it does not start with xoxb-)")
	}
	var resp struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
		Team  string `json:"team"`
		User  string `json:"user"`
	}
	h, err := call(ctx, c.hc, c.api, "auth.test", c.cfg.BotToken, nil, &resp)
	if err != nil {
		return Failed("check slack.api_url and that this machine reaches Slack's Web API", "auth.test: %v", err)
	}
	if !resp.OK {
		return Failed(fix, "auth.test: %s", resp.Error)
	}
	c.botOK = true
	if v := h.Get("X-OAuth-Scopes"); v != "" {
		c.scopesKnown = true
		for _, s := range strings.Split(v, ",") {
			c.scopes = append(c.scopes, strings.TrimSpace(s))
		}
	}
	return OK("valid: bot %s in workspace %s", resp.User, resp.Team)
}

// botScopes checks that the bot token has every scope of
// app-manifest.yaml.
func (c *slackChecks) botScopes(ctx context.Context) Result {
	if !c.botOK {
		return Skipped("no valid bot token")
	}
	if !c.scopesKnown {
		return Warning("compare the token's scopes (OAuth & Permissions) with app-manifest.yaml",
			"Slack did not report the token's scopes")
	}
	var missing []string
	for _, s := range BotScopes {
		if !slices.Contains(c.scopes, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return Failed("missing scopes "+strings.Join(missing, ", ")+": "+manifestFix,
			"the bot token lacks %s", strings.Join(missing, ", "))
	}
	return OK("has all %d scopes of app-manifest.yaml", len(BotScopes))
}

// alertChannel checks that the bot is a member of the alert channel.
func (c *slackChecks) alertChannel(ctx context.Context) Result {
	if !c.botOK {
		return Skipped("no valid bot token")
	}
	if c.cfg.Channel == "" {
		return Warning("set slack.channel (K8FLEX_SLACK_CHANNEL) to the alert channel's id (C…, in the channel's details)",
			"slack.channel is not set: alerts have no channel to go to")
	}
	var resp struct {
		OK      bool   `json:"ok"`
		Error   string `json:"error"`
		Needed  string `json:"needed"`
		Channel struct {
			Name     string `json:"name"`
			IsMember bool   `json:"is_member"`
		} `json:"channel"`
	}
	if _, err := call(ctx, c.hc, c.api, "conversations.info", c.cfg.BotToken, url.Values{"channel": {c.cfg.Channel}}, &resp); err != nil {
		return Failed("check that this machine reaches Slack's Web API", "conversations.info: %v", err)
	}
	invite := fmt.Sprintf("invite the bot to the channel: type /invite @k8flex in it (slack.channel is %s)", c.cfg.Channel)
	switch {
	case resp.OK && resp.Channel.IsMember:
		return OK("member of #%s (%s)", resp.Channel.Name, c.cfg.Channel)
	case resp.OK:
		return Failed(invite, "the bot is not a member of #%s (%s): it cannot post alerts there", resp.Channel.Name, c.cfg.Channel)
	case resp.Error == "missing_scope":
		return Warning("add the channels:read and groups:read scopes ("+manifestFix+"), or check by hand that the bot is in the channel",
			"cannot check membership: the token lacks %s", resp.Needed)
	case resp.Error == "channel_not_found":
		return Failed("set slack.channel to the channel's id (C…, not its name), and "+invite,
			"channel %s not found (a wrong id, or a private channel the bot is not in)", c.cfg.Channel)
	default:
		return Failed(invite, "conversations.info %s: %s", c.cfg.Channel, resp.Error)
	}
}

// socketMode checks that the app-level token opens a Socket Mode
// connection that says hello.
func (c *slackChecks) socketMode(ctx context.Context) Result {
	if c.cfg.AppToken == "" {
		if c.cfg.BotToken != "" {
			return Failed("set slack.app_token (K8FLEX_SLACK_APP_TOKEN): Basic Information → App-Level Tokens, with the connections:write scope",
				"slack.bot_token is set but slack.app_token is not")
		}
		return Skipped("slack.app_token is not set")
	}
	fix := "set slack.app_token (K8FLEX_SLACK_APP_TOKEN) to an App-Level Token (xapp-…) with the connections:write scope, and enable Socket Mode in the app"
	if !strings.HasPrefix(c.cfg.AppToken, "xapp-") {
		return Failed(fix, "slack.app_token is not an app-level token (it does not start with xapp-)")
	}
	var resp struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
		URL   string `json:"url"`
	}
	if _, err := call(ctx, c.hc, c.api, "apps.connections.open", c.cfg.AppToken, nil, &resp); err != nil {
		return Failed("check that this machine reaches Slack's Web API", "apps.connections.open: %v", err)
	}
	if !resp.OK {
		return Failed(fix, "apps.connections.open: %s", resp.Error)
	}
	if err := hello(ctx, resp.URL); err != nil {
		return Failed("allow outbound websocket (wss) connections to Slack from this machine", "socket mode: %v", err)
	}
	return OK("connected and greeted (hello)")
}

// call posts one Web API method with a bearer token and decodes its answer.
func call(ctx context.Context, hc *http.Client, api, method, token string, form url.Values, out any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, api+method, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return nil, fmt.Errorf("answer is not JSON: %w", err)
	}
	return resp.Header, nil
}

// hello dials a Socket Mode URL and waits for Slack's hello message.
func hello(ctx context.Context, wsURL string) error {
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, wsURL, nil)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetReadDeadline(dl)
	}
	for {
		var msg struct {
			Type string `json:"type"`
		}
		if err := conn.ReadJSON(&msg); err != nil {
			return fmt.Errorf("no hello: %w", err)
		}
		switch msg.Type {
		case "hello":
			return nil
		case "disconnect":
			return errors.New("slack sent disconnect before hello")
		}
	}
}
