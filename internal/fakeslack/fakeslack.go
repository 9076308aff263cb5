// Package fakeslack is K8flex's own in-process fake of the Slack Web API and
// of Socket Mode, for tests. It serves the Web API methods the bot uses,
// records every call (method, arguments, arrival time), can answer 429 with
// Retry-After (on demand, for Slack's per-channel limit on posts, for its
// app-wide limit on updates, or for a share of updates), keeps the messages
// it was asked to post and the files shared through the external upload
// (Uploads) so tests can read them, and runs the Socket Mode websocket: it greets with
// {"type":"hello"}, pushes envelopes, records the client's acks, sends
// websocket pings and can drop connections to test reconnects.
//
// Point slack-go at it with slack.OptionAPIURL(s.APIURL()) (the URL ends
// with "/", as slack-go requires).
package fakeslack

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
)

// Fixed identities the fake reports.
const (
	TeamID    = "T0K8FLEX"
	BotUserID = "U0K8FLEXBOT"
	AppID     = "A0K8FLEX"
)

// Call is one recorded Web API request.
type Call struct {
	Method string
	// Args holds the form values, or for a JSON body its top-level fields
	// (strings as they are, anything else JSON-encoded).
	Args url.Values
	At   time.Time
	// Status is the HTTP status the fake answered with.
	Status int
}

// Ack is one Socket Mode acknowledgement the client sent.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage
	At         time.Time
}

// Message is a message as the fake stores it after chat.postMessage,
// chat.update or the streaming methods.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string
	Text     string
	// Blocks is the JSON of the message's blocks ("" when none).
	Blocks string
	// Markdown is the streamed markdown_text, concatenated.
	Markdown  string
	Updates   int
	Streaming bool
}

// Options configures a Server. Zero values take defaults.
type Options struct {
	BotToken string // default "xoxb-fake"
	AppToken string // default "xapp-fake"
	// PingInterval is how often websocket pings are sent (default 200ms).
	PingInterval time.Duration
	// UserGroups maps a user group id to its members.
	UserGroups map[string][]string
	// Scopes are the bot token's scopes, sent in the X-OAuth-Scopes header
	// of every answer to the bot token, as Slack does (default
	// DefaultScopes).
	Scopes []string
	// NotMember are channel ids the bot is not a member of
	// (conversations.info answers is_member false).
	NotMember []string
	// Channels, when set, are the only channel ids conversations.info
	// knows; others answer channel_not_found.
	Channels []string
}

// DefaultScopes are the bot scopes of the project's app-manifest.yaml.
var DefaultScopes = []string{"channels:read", "chat:write", "commands", "files:write", "groups:read", "reactions:read", "usergroups:read"}

// Server is a running fake Slack. All methods are safe for concurrent use.
type Server struct {
	opts Options
	srv  *httptest.Server
	up   websocket.Upgrader

	mu        sync.Mutex
	calls     []Call
	acks      []Ack
	messages  map[string]*Message // channel+"/"+ts
	order     []string
	limits    map[string][]time.Duration
	conns     []*wsConn
	connected int
	seq       int
	closed    bool
	changed   chan struct{}

	down      bool // SetUnreachable
	postLimit *postLimit
	// updateShare of chat.update calls are answered 429 (RejectUpdates).
	updateShare float64
	updateCalls int

	files   map[string]*pendingFile // reserved uploads, by file id
	uploads []Upload
	// updateWindow limits chat.update app-wide (LimitUpdates).
	updateLimit  int
	updateWindow time.Duration
	updateTimes  []time.Time // accepted updates inside the window, oldest first
}

type wsConn struct {
	c    *websocket.Conn
	wmu  sync.Mutex
	done chan struct{}
}

// New starts a fake Slack; Close stops it.
func New(opts Options) *Server {
	if opts.BotToken == "" {
		opts.BotToken = "xoxb-fake"
	}
	if opts.AppToken == "" {
		opts.AppToken = "xapp-fake"
	}
	if opts.Scopes == nil {
		opts.Scopes = DefaultScopes
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 200 * time.Millisecond
	}
	s := &Server{
		opts:     opts,
		messages: map[string]*Message{},
		limits:   map[string][]time.Duration{},
		changed:  make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/ws", s.serveWS)
	mux.HandleFunc("/response/", s.serveResponseURL)
	mux.HandleFunc(uploadPath, s.serveUpload)
	// Slack's client sends Origin: https://api.slack.com; accept it.
	s.up.CheckOrigin = func(*http.Request) bool { return true }
	s.srv = httptest.NewServer(mux)
	return s
}

// APIURL is the Web API base URL, with the trailing slash slack-go needs.
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// BotToken and AppToken return the tokens the fake accepts.
func (s *Server) BotToken() string { return s.opts.BotToken }

// AppToken returns the app-level token the fake accepts.
func (s *Server) AppToken() string { return s.opts.AppToken }

// ResponseURL returns a response_url served by the fake (recorded as
// method "response_url").
func (s *Server) ResponseURL(id string) string { return s.srv.URL + "/response/" + id }

// Close drops every websocket and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.c.Close()
	}
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// RateLimit makes the next len(retryAfter) calls of method answer HTTP 429
// with the given Retry-After (whole seconds, as Slack sends it).
func (s *Server) RateLimit(method string, retryAfter ...time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits[method] = append(s.limits[method], retryAfter...)
}

// postLimit is Slack's per-channel limit on chat.postMessage.
type postLimit struct {
	every time.Duration
	burst int
	chans map[string]*rate.Limiter
}

// LimitPosts enforces Slack's per-channel limit on chat.postMessage: per
// channel, a token bucket of one post per every with burst posts at once;
// a post beyond it is answered 429 with Retry-After (whole seconds, at
// least 1), the wait until the channel takes a post again. every <= 0
// lifts the limit.
func (s *Server) LimitPosts(every time.Duration, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if every <= 0 {
		s.postLimit = nil
		return
	}
	s.postLimit = &postLimit{every: every, burst: max(burst, 1), chans: map[string]*rate.Limiter{}}
}

// SetUnreachable takes the fake off the network (down) or back: while
// down, every Web API request and websocket upgrade is cut without an
// answer (the client sees a network error) and open websockets are
// dropped. Such requests are recorded with Status 0.
func (s *Server) SetUnreachable(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
	if down {
		s.DropConnections()
	}
}

// cutIfDown closes the request's connection without an answer while the
// fake is unreachable, and reports whether it did.
func (s *Server) cutIfDown(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if !down {
		return false
	}
	s.record(Call{Method: strings.TrimPrefix(r.URL.Path, "/api/"), At: time.Now()})
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return true
		}
	}
	panic(http.ErrAbortHandler)
}

// RejectUpdates answers share (0 to 1) of the chat.update calls from now
// on with 429 and Retry-After: 1, spread evenly (with share 0.3, three of
// every ten calls).
func (s *Server) RejectUpdates(share float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updateShare, s.updateCalls = share, 0
}

// LimitUpdates enforces Slack's app-wide limit on chat.update (Tier 3,
// about 50 per minute): an update beyond limit accepted in the last
// window is answered 429 with Retry-After (whole seconds, at least 1)
// until the oldest leaves the window. Only accepted calls count. limit 0
// lifts the limit.
func (s *Server) LimitUpdates(limit int, window time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updateLimit, s.updateWindow, s.updateTimes = limit, window, nil
}

// updateLimitedLocked applies LimitUpdates to a chat.update at now.
func (s *Server) updateLimitedLocked(now time.Time) (time.Duration, bool) {
	if s.updateLimit <= 0 {
		return 0, false
	}
	for len(s.updateTimes) > 0 && !s.updateTimes[0].After(now.Add(-s.updateWindow)) {
		s.updateTimes = s.updateTimes[1:]
	}
	if len(s.updateTimes) >= s.updateLimit {
		return max(s.updateTimes[0].Add(s.updateWindow).Sub(now), time.Second), true
	}
	s.updateTimes = append(s.updateTimes, now)
	return 0, false
}

// limitedLocked decides whether a call of method with args is rate
// limited, and for how long.
func (s *Server) limitedLocked(method string, args url.Values, now time.Time) (time.Duration, bool) {
	if q := s.limits[method]; len(q) > 0 {
		s.limits[method] = q[1:]
		return q[0], true
	}
	switch {
	case method == "chat.postMessage" && s.postLimit != nil:
		l := s.postLimit
		ch := args.Get("channel")
		lim := l.chans[ch]
		if lim == nil {
			lim = rate.NewLimiter(rate.Every(l.every), l.burst)
			l.chans[ch] = lim
		}
		r := lim.ReserveN(now, 1)
		if d := r.DelayFrom(now); d > 0 {
			r.CancelAt(now)
			return max(d, time.Second), true
		}
	case method == "chat.update" && s.updateShare > 0:
		n := s.updateCalls
		s.updateCalls++
		if int(float64(n+1)*s.updateShare) > int(float64(n)*s.updateShare) {
			return time.Second, true
		}
	}
	if method == "chat.update" {
		return s.updateLimitedLocked(now)
	}
	return 0, false
}

// Calls returns the recorded calls of the given methods (all when none).
func (s *Server) Calls(methods ...string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if len(methods) == 0 || contains(methods, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

// Acks returns the Socket Mode acknowledgements received so far.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ack(nil), s.acks...)
}

// Message returns a copy of the stored message channel/ts.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[channel+"/"+ts]
	if !ok {
		return Message{}, false
	}
	return *m, true
}

// Messages returns copies of all stored messages in posting order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, *s.messages[k])
	}
	return out
}

// Connections returns how many Socket Mode connections were accepted so far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Changed returns a channel closed at the next recorded call, ack or
// connection, for tests that wait on the fake without sleeping.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
	s.notifyLocked()
}

func (s *Server) nextTS() string {
	s.seq++
	return fmt.Sprintf("1700000000.%06d", s.seq)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// readArgs reads a form or JSON body into url.Values and returns the token.
func readArgs(r *http.Request) (url.Values, string, error) {
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, "", err
	}
	args := url.Values{}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var m map[string]json.RawMessage
		if len(body) > 0 {
			if err := json.Unmarshal(body, &m); err != nil {
				return nil, "", err
			}
		}
		for k, v := range m {
			var str string
			if json.Unmarshal(v, &str) == nil {
				args.Set(k, str)
			} else {
				args.Set(k, string(v))
			}
		}
	} else {
		args, err = url.ParseQuery(string(body))
		if err != nil {
			return nil, "", err
		}
		for k, v := range r.URL.Query() {
			args[k] = v
		}
	}
	if token == "" {
		token = args.Get("token")
	}
	return args, token, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

type obj = map[string]any

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if s.cutIfDown(w, r) {
		return
	}
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	args, token, err := readArgs(r)
	now := time.Now()
	if err != nil {
		s.record(Call{Method: method, Args: args, At: now, Status: http.StatusBadRequest})
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	if ra, limited := s.limitedLocked(method, args, now); limited {
		s.mu.Unlock()
		s.record(Call{Method: method, Args: args, At: now, Status: http.StatusTooManyRequests})
		w.Header().Set("Retry-After", strconv.Itoa(int((ra+time.Second-1)/time.Second)))
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	s.mu.Unlock()
	s.record(Call{Method: method, Args: args, At: now, Status: http.StatusOK})

	want := s.opts.BotToken
	if method == "apps.connections.open" {
		want = s.opts.AppToken
	}
	if token != want {
		writeJSON(w, obj{"ok": false, "error": "invalid_auth"})
		return
	}
	if want == s.opts.BotToken {
		w.Header().Set("X-OAuth-Scopes", strings.Join(s.opts.Scopes, ","))
	}
	writeJSON(w, s.answer(method, args))
}

func (s *Server) answer(method string, args url.Values) obj {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := args.Get("channel")
	switch method {
	case "auth.test":
		return obj{"ok": true, "url": "https://k8flex-test.example/", "team": "k8flex-test",
			"user": "k8flex", "team_id": TeamID, "user_id": BotUserID, "bot_id": "B0K8FLEX"}
	case "apps.connections.open":
		return obj{"ok": true, "url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/ws?ticket=fake&app_id=" + AppID}
	case "chat.postMessage", "chat.startStream":
		if ch == "" {
			return obj{"ok": false, "error": "channel_not_found"}
		}
		ts := s.nextTS()
		m := &Message{Channel: ch, TS: ts, ThreadTS: args.Get("thread_ts"), Text: args.Get("text"),
			Blocks: args.Get("blocks"), Markdown: args.Get("markdown_text"), Streaming: method == "chat.startStream"}
		s.messages[ch+"/"+ts] = m
		s.order = append(s.order, ch+"/"+ts)
		return obj{"ok": true, "channel": ch, "ts": ts, "message": obj{"text": m.Text, "ts": ts}}
	case "chat.update", "chat.appendStream", "chat.stopStream":
		ts := args.Get("ts")
		m, ok := s.messages[ch+"/"+ts]
		if !ok {
			return obj{"ok": false, "error": "message_not_found"}
		}
		if method == "chat.update" {
			if m.Streaming {
				return obj{"ok": false, "error": "message_not_in_streaming_state"}
			}
			m.Text, m.Blocks = args.Get("text"), args.Get("blocks")
		} else {
			if !m.Streaming {
				return obj{"ok": false, "error": "message_not_in_streaming_state"}
			}
			m.Markdown += args.Get("markdown_text")
			if b := args.Get("blocks"); b != "" {
				m.Blocks = b
			}
			if method == "chat.stopStream" {
				m.Streaming = false
			}
		}
		m.Updates++
		return obj{"ok": true, "channel": ch, "ts": ts, "text": m.Text}
	case "chat.postEphemeral":
		if ch == "" || args.Get("user") == "" {
			return obj{"ok": false, "error": "user_not_in_channel"}
		}
		return obj{"ok": true, "message_ts": s.nextTS()}
	case "views.publish", "views.open":
		s.seq++
		return obj{"ok": true, "view": obj{"id": fmt.Sprintf("V%06d", s.seq), "type": "home"}}
	case "reactions.add", "reactions.remove":
		return obj{"ok": true}
	case "files.getUploadURLExternal":
		return s.getUploadURL(args)
	case "files.completeUploadExternal":
		return s.completeUpload(args)
	case "usergroups.users.list":
		users, ok := s.opts.UserGroups[args.Get("usergroup")]
		if !ok {
			return obj{"ok": false, "error": "no_such_subteam"}
		}
		return obj{"ok": true, "users": users}
	case "conversations.info":
		if !contains(s.opts.Scopes, "channels:read") {
			return obj{"ok": false, "error": "missing_scope", "needed": "channels:read,groups:read"}
		}
		if len(s.opts.Channels) > 0 && !contains(s.opts.Channels, ch) {
			return obj{"ok": false, "error": "channel_not_found"}
		}
		return obj{"ok": true, "channel": obj{"id": ch, "name": "alerts", "is_member": !contains(s.opts.NotMember, ch)}}
	}
	return obj{"ok": false, "error": "unknown_method"}
}

func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.record(Call{Method: "response_url", Args: url.Values{"id": {strings.TrimPrefix(r.URL.Path, "/response/")}, "body": {string(body)}}, At: time.Now(), Status: http.StatusOK})
	writeJSON(w, obj{"ok": true})
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if s.cutIfDown(w, r) {
		return
	}
	c, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	wc := &wsConn{c: c, done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = c.Close()
		return
	}
	s.conns = append(s.conns, wc)
	s.connected++
	n := len(s.conns)
	s.notifyLocked()
	s.mu.Unlock()

	_ = wc.write(obj{"type": "hello", "num_connections": n,
		"connection_info": obj{"app_id": AppID},
		"debug_info":      obj{"host": "fakeslack", "approximate_connection_time": 18060}})
	go s.ping(wc)
	defer s.remove(wc)
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		var a struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &a) != nil || a.EnvelopeID == "" {
			continue
		}
		s.mu.Lock()
		s.acks = append(s.acks, Ack{EnvelopeID: a.EnvelopeID, Payload: a.Payload, At: time.Now()})
		s.notifyLocked()
		s.mu.Unlock()
	}
}

func (s *Server) ping(wc *wsConn) {
	t := time.NewTicker(s.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-wc.done:
			return
		case <-t.C:
			wc.wmu.Lock()
			err := wc.c.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second))
			wc.wmu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

func (wc *wsConn) write(v any) error {
	wc.wmu.Lock()
	defer wc.wmu.Unlock()
	return wc.c.WriteJSON(v)
}

func (s *Server) remove(wc *wsConn) {
	close(wc.done)
	_ = wc.c.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range s.conns {
		if c == wc {
			s.conns = append(s.conns[:i], s.conns[i+1:]...)
			break
		}
	}
}

// DropConnections closes every open Socket Mode websocket abruptly.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := append([]*wsConn(nil), s.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.c.Close()
	}
}

// push sends an envelope on the most recent connection and returns its id.
func (s *Server) push(typ string, payload any, acceptsResponse bool) (string, error) {
	s.mu.Lock()
	s.seq++
	id := fmt.Sprintf("env-%06d", s.seq)
	var wc *wsConn
	if len(s.conns) > 0 {
		wc = s.conns[len(s.conns)-1]
	}
	s.mu.Unlock()
	if wc == nil {
		return "", fmt.Errorf("push %s: no socket mode connection", typ)
	}
	return id, wc.write(obj{"envelope_id": id, "type": typ, "payload": payload,
		"accepts_response_payload": acceptsResponse, "retry_attempt": 0})
}

// PushEvent sends an events_api envelope wrapping event (the inner "event"
// object, e.g. a reaction_added) and returns the envelope id.
func (s *Server) PushEvent(event any) (string, error) {
	return s.push("events_api", obj{"token": "verification", "team_id": TeamID, "api_app_id": AppID,
		"type": "event_callback", "event_id": "Ev" + strconv.FormatInt(time.Now().UnixNano(), 36),
		"event_time": time.Now().Unix(), "event": event}, false)
}

// SlashCommand describes a slash command invocation.
type SlashCommand struct {
	UserID, ChannelID, Text string
}

// PushSlashCommand sends a slash_commands envelope for /k8flex.
func (s *Server) PushSlashCommand(c SlashCommand) (string, error) {
	return s.push("slash_commands", obj{"token": "verification", "team_id": TeamID, "team_domain": "k8flex-test",
		"channel_id": c.ChannelID, "channel_name": "alerts", "user_id": c.UserID, "user_name": c.UserID,
		"command": "/k8flex", "text": c.Text, "api_app_id": AppID,
		"response_url": s.ResponseURL(c.UserID), "trigger_id": "trig-" + c.UserID}, true)
}

// PushInteractive sends an interactive envelope carrying payload (a
// block_actions or view_submission callback).
func (s *Server) PushInteractive(payload any) (string, error) {
	return s.push("interactive", payload, true)
}

// AckFor returns the ack of envelope id, if it arrived.
func (s *Server) AckFor(id string) (Ack, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.acks {
		if a.EnvelopeID == id {
			return a, true
		}
	}
	return Ack{}, false
}

// PushReaction sends the reaction_added (added) or reaction_removed event
// of user's reaction (e.g. "white_check_mark") on message channel/ts, as
// Slack does when someone reacts, and returns the envelope id.
func (s *Server) PushReaction(user, reaction, channel, ts string, added bool) (string, error) {
	typ := "reaction_removed"
	if added {
		typ = "reaction_added"
	}
	item := obj{"type": "message", "channel": channel, "ts": ts}
	s.mu.Lock()
	itemUser := ""
	if _, ok := s.messages[channel+"/"+ts]; ok {
		itemUser = BotUserID
	}
	s.seq++
	eventTS := fmt.Sprintf("1700000900.%06d", s.seq)
	s.mu.Unlock()
	return s.PushEvent(obj{"type": typ, "user": user, "reaction": reaction, "item_user": itemUser, "item": item,
		"event_ts": eventTS})
}

// ClickButton sends the block_actions interaction of user clicking the
// button actionID on the stored message channel/ts, with the value the
// message's blocks give it, and returns the envelope id. It fails when
// the message does not show that button.
func (s *Server) ClickButton(user, channel, ts, actionID string) (string, error) {
	m, ok := s.Message(channel, ts)
	if !ok {
		return "", fmt.Errorf("click %s: no message %s/%s", actionID, channel, ts)
	}
	var blocks []struct {
		Type     string `json:"type"`
		BlockID  string `json:"block_id"`
		Elements []struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if m.Blocks != "" {
		if err := json.Unmarshal([]byte(m.Blocks), &blocks); err != nil {
			return "", fmt.Errorf("click %s: blocks of %s/%s: %w", actionID, channel, ts, err)
		}
	}
	for _, b := range blocks {
		for _, e := range b.Elements {
			if b.Type != "actions" || e.Type != "button" || e.ActionID != actionID {
				continue
			}
			return s.PushInteractive(obj{
				"type": "block_actions", "trigger_id": "trig-" + user,
				"user":      obj{"id": user, "name": user},
				"team":      obj{"id": TeamID},
				"channel":   obj{"id": channel},
				"container": obj{"type": "message", "message_ts": ts, "channel_id": channel, "thread_ts": m.ThreadTS},
				"message":   obj{"ts": ts, "thread_ts": m.ThreadTS, "blocks": json.RawMessage(m.Blocks)},
				"actions": []any{obj{"action_id": e.ActionID, "block_id": b.BlockID, "value": e.Value, "type": "button",
					"action_ts": fmt.Sprintf("%d.000000", time.Now().Unix())}},
			})
		}
	}
	return "", fmt.Errorf("click %s: message %s/%s has no such button", actionID, channel, ts)
}
