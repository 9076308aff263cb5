package fakeslack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Upload is a file shared through Slack's external upload: reserved with
// files.getUploadURLExternal, its bytes sent to the upload URL, shared by
// files.completeUploadExternal.
type Upload struct {
	FileID   string
	Filename string
	Title    string
	AltText  string
	// Channel and ThreadTS are where completeUploadExternal shared it
	// (channel_id, thread_ts).
	Channel  string
	ThreadTS string
	// Data is what was sent to the upload URL.
	Data []byte
	At   time.Time
}

// pendingFile is a reserved upload not yet completed.
type pendingFile struct {
	id, filename, alt string
	length            int
	data              []byte
	uploaded          bool
}

// uploadPath is where the fake serves upload URLs (on the API's host, as
// slack-go only sends the token there or to Slack's own https hosts).
const uploadPath = "/upload/v1/"

// Uploads returns the files shared so far, in order.
func (s *Server) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Upload(nil), s.uploads...)
}

// getUploadURL answers files.getUploadURLExternal: filename and a
// positive length are required, and the files:write scope.
func (s *Server) getUploadURL(args url.Values) obj {
	if !contains(s.opts.Scopes, "files:write") {
		return obj{"ok": false, "error": "missing_scope", "needed": "files:write", "provided": strings.Join(s.opts.Scopes, ",")}
	}
	n, err := strconv.Atoi(args.Get("length"))
	if args.Get("filename") == "" || err != nil || n <= 0 {
		return obj{"ok": false, "error": "missing_argument"}
	}
	s.seq++
	id := fmt.Sprintf("F%08d", s.seq)
	if s.files == nil {
		s.files = map[string]*pendingFile{}
	}
	s.files[id] = &pendingFile{id: id, filename: args.Get("filename"), alt: args.Get("alt_txt"), length: n}
	return obj{"ok": true, "upload_url": s.srv.URL + uploadPath + id, "file_id": id}
}

// completeUpload answers files.completeUploadExternal: every file must
// have been reserved and its bytes received; a thread_ts must be a
// message of channel_id.
func (s *Server) completeUpload(args url.Values) obj {
	if !contains(s.opts.Scopes, "files:write") {
		return obj{"ok": false, "error": "missing_scope", "needed": "files:write"}
	}
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(args.Get("files")), &files); err != nil || len(files) == 0 {
		return obj{"ok": false, "error": "invalid_arguments"}
	}
	ch, thread := args.Get("channel_id"), args.Get("thread_ts")
	if thread != "" {
		if ch == "" {
			return obj{"ok": false, "error": "invalid_arguments"}
		}
		if _, ok := s.messages[ch+"/"+thread]; !ok {
			return obj{"ok": false, "error": "invalid_thread_ts"}
		}
	}
	for _, f := range files {
		p, ok := s.files[f.ID]
		if !ok {
			return obj{"ok": false, "error": "file_not_found"}
		}
		if !p.uploaded {
			return obj{"ok": false, "error": "file_upload_incomplete"}
		}
	}
	now := time.Now()
	out := make([]obj, 0, len(files))
	for _, f := range files {
		p := s.files[f.ID]
		delete(s.files, f.ID)
		title := f.Title
		if title == "" {
			title = p.filename
		}
		s.uploads = append(s.uploads, Upload{FileID: p.id, Filename: p.filename, Title: title, AltText: p.alt,
			Channel: ch, ThreadTS: thread, Data: p.data, At: now})
		out = append(out, obj{"id": p.id, "title": title})
	}
	return obj{"ok": true, "files": out}
}

// serveUpload receives a file's bytes at its upload URL: a multipart form
// (its first file part) or the raw body. An unknown or already used URL
// is 404; bytes of another size than the length reserved are 400; a
// token other than the bot's is 403.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	if s.cutIfDown(w, r) {
		return
	}
	id := strings.TrimPrefix(r.URL.Path, uploadPath)
	status := http.StatusOK
	defer func() {
		s.record(Call{Method: "upload_url", Args: url.Values{"file_id": {id}}, At: time.Now(), Status: status})
	}()
	fail := func(code int, msg string) {
		status = code
		http.Error(w, msg, code)
	}
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "POST only")
		return
	}
	if auth := r.Header.Get("Authorization"); auth != "" && auth != "Bearer "+s.opts.BotToken {
		fail(http.StatusForbidden, "invalid token")
		return
	}
	data, err := readUploadBody(r)
	if err != nil {
		fail(http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	p, ok := s.files[id]
	switch {
	case !ok || p.uploaded:
		s.mu.Unlock()
		fail(http.StatusNotFound, "unknown upload")
		return
	case len(data) != p.length:
		s.mu.Unlock()
		fail(http.StatusBadRequest, fmt.Sprintf("received %d bytes, reserved %d", len(data), p.length))
		return
	}
	p.data, p.uploaded = data, true
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "OK - %d", len(data))
}

// readUploadBody returns the file of a multipart form, or the raw body.
func readUploadBody(r *http.Request) ([]byte, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return io.ReadAll(r.Body)
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, fmt.Errorf("multipart body without a file")
		}
		if err != nil {
			return nil, fmt.Errorf("read multipart body: %w", err)
		}
		if part.FileName() == "" {
			continue
		}
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, part); err != nil {
			return nil, fmt.Errorf("read multipart file: %w", err)
		}
		return buf.Bytes(), nil
	}
}
