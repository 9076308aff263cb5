package fakeslack

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

func TestExternalUpload(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	api := slack.New(s.BotToken(), slack.OptionAPIURL(s.APIURL()))
	ctx := context.Background()
	_, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("root", false))
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("\x89PNG fake bytes")

	// slack-go's three steps: a multipart body to the upload URL.
	f, err := api.UploadFileContext(ctx, slack.UploadFileParameters{Reader: bytes.NewReader(data), FileSize: len(data),
		Filename: "c.png", Title: "chart", AltTxt: "a chart", Channel: "C1", ThreadTimestamp: ts})
	if err != nil {
		t.Fatal(err)
	}
	ups := s.Uploads()
	if len(ups) != 1 || ups[0].FileID != f.ID || ups[0].Channel != "C1" || ups[0].ThreadTS != ts ||
		ups[0].Title != "chart" || ups[0].AltText != "a chart" || !bytes.Equal(ups[0].Data, data) {
		t.Fatalf("uploads = %+v", ups)
	}

	reserve := func(n int) *slack.GetUploadURLExternalResponse {
		t.Helper()
		u, err := api.GetUploadURLExternalContext(ctx, slack.GetUploadURLExternalParameters{FileName: "r.bin", FileSize: n})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	post := func(url, token string, body []byte) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// A raw body is accepted too; the size must be the one reserved.
	u := reserve(4)
	if code := post(u.UploadURL, "", []byte("abc")); code != http.StatusBadRequest {
		t.Errorf("3 bytes for 4 reserved: %d, want 400", code)
	}
	if code := post(u.UploadURL, "xoxb-wrong", []byte("abcd")); code != http.StatusForbidden {
		t.Errorf("wrong token: %d, want 403", code)
	}
	if code := post(u.UploadURL, "", []byte("abcd")); code != http.StatusOK {
		t.Errorf("raw body: %d, want 200", code)
	}
	if code := post(u.UploadURL, "", []byte("abcd")); code != http.StatusNotFound {
		t.Errorf("second upload to the same URL: %d, want 404", code)
	}
	complete := func(id, thread string) error {
		_, err := api.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{
			Files: []slack.FileSummary{{ID: id}}, Channel: "C1", ThreadTimestamp: thread})
		return err
	}
	if err := complete("F404", ts); err == nil || err.Error() != "file_not_found" {
		t.Errorf("complete with an unknown file id = %v, want file_not_found", err)
	}
	if err := complete(reserve(3).FileID, ts); err == nil || err.Error() != "file_upload_incomplete" {
		t.Errorf("complete before the bytes = %v, want file_upload_incomplete", err)
	}
	if err := complete(u.FileID, "1.000"); err == nil || err.Error() != "invalid_thread_ts" {
		t.Errorf("complete into an unknown thread = %v, want invalid_thread_ts", err)
	}
	if err := complete(u.FileID, ts); err != nil {
		t.Fatal(err)
	}
	if got := s.Uploads(); len(got) != 2 || string(got[1].Data) != "abcd" || got[1].Title != "r.bin" {
		t.Errorf("uploads = %+v", got)
	}
	// Without files:write, Slack refuses the reservation.
	s2 := New(Options{Scopes: []string{"chat:write"}})
	defer s2.Close()
	_, err = slack.New(s2.BotToken(), slack.OptionAPIURL(s2.APIURL())).UploadFileContext(ctx,
		slack.UploadFileParameters{Reader: bytes.NewReader(data), FileSize: len(data), Filename: "c.png", Channel: "C1"})
	if err == nil || !strings.Contains(err.Error(), "missing_scope") {
		t.Errorf("upload without files:write = %v, want missing_scope", err)
	}
}
