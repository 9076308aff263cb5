package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"time"

	"github.com/slack-go/slack"

	"github.com/k8flex/k8flex/investigate"
)

// methodUpload names a chart upload in delivery and retry metrics: the
// call that shares the file in the thread.
const methodUpload = "files.completeUploadExternal"

// methodUploadURL names the upload of a file's bytes to the URL
// files.getUploadURLExternal returned, in Deps.OnAPICall.
const methodUploadURL = "upload_url"

// outcomeAbandoned: an upload given up after uploadAttempts tries.
const outcomeAbandoned = "abandoned"

// Chart uploads are tried this often, waiting uploadBackoffMin doubling
// to uploadBackoffMax between tries Slack did not answer (a 429 waits its
// Retry-After).
const (
	uploadAttempts   = 6
	uploadBackoffMin = time.Second
	uploadBackoffMax = 30 * time.Second
)

// shareCharts uploads the investigation's charts into its thread, in the
// background, once the thread's text is final: a chart never delays or
// replaces the analysis. Each upload is made through Slack's external
// upload (files.getUploadURLExternal, the bytes to the returned URL,
// files.completeUploadExternal with the channel and thread_ts) and tried
// again when Slack limits or does not answer it, up to uploadAttempts; a
// chart Slack refuses (missing files:write scope …) or that still fails
// is logged and counted (Deps.OnDelivery), never fatal. Close cancels
// uploads in flight.
func (r *Reporter) shareCharts(ctx context.Context) {
	snap := r.snapshot()
	if snap.result == nil || len(snap.result.Charts) == 0 {
		return
	}
	channel, threadTS := r.Thread()
	r.mu.Lock()
	log := r.log
	r.mu.Unlock()
	if threadTS == "" {
		log.Warn().Int("charts", len(snap.result.Charts)).Msg("charts not shared: the thread was never posted")
		for range snap.result.Charts {
			r.b.delivered(methodUpload, outcomeAbandoned)
		}
		return
	}
	uctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	id, ok := r.b.track(cancel)
	if !ok {
		cancel()
		return
	}
	charts := snap.result.Charts
	go func() {
		defer r.b.untrack(id)
		defer cancel()
		for _, c := range charts {
			if err := r.b.uploadChart(uctx, channel, threadTS, c); err != nil {
				log.Warn().Err(err).Str("chart", c.Filename).Msg("chart not shared in the thread")
			}
		}
	}()
}

// uploadChart shares one chart in the thread, trying again while Slack
// limits it or does not answer.
func (b *Bot) uploadChart(ctx context.Context, channel, threadTS string, c investigate.Chart) error {
	wait := uploadBackoffMin
	var err error
	for attempt := 1; attempt <= uploadAttempts; attempt++ {
		if err = b.posts.wait(ctx, channel); err != nil {
			return fmt.Errorf("upload chart %s: %w", c.Filename, err)
		}
		_, err = b.api.UploadFileContext(ctx, slack.UploadFileParameters{
			Reader: bytes.NewReader(c.PNG), FileSize: len(c.PNG), Filename: c.Filename,
			Title: c.Title, AltTxt: truncate(c.Title, 1000), Channel: channel, ThreadTimestamp: threadTS,
		})
		if err == nil {
			b.delivered(methodUpload, outcomeDelivered)
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("upload chart %s: %w", c.Filename, ctx.Err())
		}
		if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
			b.retried(methodUpload, retryRateLimited)
			b.posts.pauseUntil(channel, time.Now().Add(rl.RetryAfter))
			continue
		}
		if refused(err) {
			b.delivered(methodUpload, outcomeRefused)
			return fmt.Errorf("upload chart %s: slack refused it (the app needs the files:write scope): %w", c.Filename, err)
		}
		if attempt == uploadAttempts {
			break
		}
		b.retried(methodUpload, retryUnreachable)
		if err := sleepCtx(ctx, wait); err != nil {
			return fmt.Errorf("upload chart %s: %w", c.Filename, err)
		}
		wait = min(2*wait, uploadBackoffMax)
	}
	b.delivered(methodUpload, outcomeAbandoned)
	return fmt.Errorf("upload chart %s: gave up after %d tries: %w", c.Filename, uploadAttempts, err)
}

// uploadBody checks a multipart request body before it leaves: K8flex
// sends one only to upload a file (slack-go's upload to the URL
// files.getUploadURLExternal returned), with no text field and a file
// name free of spoofing runes; its bytes are passed unchanged.
func uploadBody(contentType string, body []byte) ([]byte, error) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("multipart body: %w", err)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	files := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("multipart body: %w", err)
		}
		name := part.FileName()
		if name == "" {
			return nil, fmt.Errorf("multipart body: field %q: k8flex sends files only", part.FormName())
		}
		if Unspoof(name) != name {
			return nil, fmt.Errorf("multipart body: file name %q holds spoofing characters", name)
		}
		files++
	}
	if files != 1 {
		return nil, fmt.Errorf("multipart body with %d files, want 1", files)
	}
	return body, nil
}
