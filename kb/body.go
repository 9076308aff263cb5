package kb

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"fmt"
	"io"
)

// A case body (request, evidence, findings, analysis) is JSON, stored by
// the embedded backend deflated behind a one-byte tag: bodies are most of
// the file, and bbolt maps the file, so their size is resident memory
// during a storm. Bodies are short (1-3 KB for most), too short for
// deflate to learn their vocabulary, so the stream starts from a preset
// dictionary of the words bodies repeat (field names, the labels of
// Alertmanager and kube-prometheus alerts). Measured on a
// KubePodCrashLooping storm alert, a queued body (1.0 KB of JSON) shrinks
// to 0.3 KB and a concluded one (2.1 KB) to 0.6 KB, for ~35 µs to encode
// and ~25 µs to decode.
// Bodies starting with '{' are plain JSON, as earlier versions wrote
// them, and are read as such.
const bodyDeflated = 0x01

// bodyLevel is the fastest deflate level that uses a preset dictionary
// (flate.BestSpeed ignores it).
const bodyLevel = 2

// bodyDict is the preset dictionary of bodyDeflated. It is part of the
// file format: changing it makes stored bodies unreadable (a new
// dictionary needs a new tag). The likeliest strings come last, where
// deflate reaches them with the shortest distances.
var bodyDict = []byte(`{"similar":[],"feedback":[],"gaps":[],"timings":{"duration_ns":` +
	`"categorization":{"category":"","decided_by":"rules","confidence":` +
	`"usage":{"input_tokens":,"output_tokens":},"model":"","fallback_reason":"` +
	`"related":[{"status":"firing","labels":{"alertname":"` +
	`"actions":[],"impact":"","prevention":"","proof":"` +
	`"objects":[{"kind":"Deployment","kind":"ReplicaSet","kind":"StatefulSet","kind":"DaemonSet","kind":"Job","kind":"Node","kind":"Event",` +
	`"truncated":false,"trimmed_sections":,"chars":,"collector":"` +
	`"severity":"critical","severity":"info","reason":"OOMKilled","reason":"Error","exitCode":137,` +
	`Back-off restarting failed container, Liveness probe failed: Readiness probe failed: connection refused` +
	`## Root cause\n## Evidence\n## Next steps\n- kubectl -n  describe pod  logs --previous ` +
	`KubePodNotReady KubeDeploymentReplicasMismatch KubeStatefulSetReplicasMismatch KubeContainerWaiting ` +
	`KubeJobFailed KubeNodeNotReady KubeMemoryOverCommit CPUThrottlingHigh TargetDown KubePodCrashLooping ` +
	`"findings":[{"rule":"","severity":"warning","score":0,"summary":"","detail":"","category":"pod-crash"}],` +
	`"evidence":{"target":{"kind":"pod","name":"","namespace":"","pod":"","container":"","workload":{"kind":"Deployment","name":""},"node":"","instance":""},` +
	`"sections":[{"name":"pod/status","title":"","priority":0,"body":"` +
	`"name":"pod/logs","name":"pod/events","api_requests":,"target_gone":true},` +
	`"request":{"id":"","alert":{"status":"firing","labels":{"alertname":"","container":"","endpoint":"http-metrics",` +
	`"instance":"","job":"kube-state-metrics","namespace":"","pod":"","prometheus":"monitoring/k8s","reason":"",` +
	`"service":"kube-state-metrics","severity":"warning","uid":""},"annotations":{"description":"","runbook_url":` +
	`"https://runbooks.prometheus-operator.dev/runbooks/kubernetes/","summary":""},"startsAt":"T00:00:00Z",` +
	`"endsAt":"0001-01-01T00:00:00Z","generatorURL":"/graph?g0.expr=\u0026g0.tab=1","fingerprint":""},` +
	`"target":{"workload":{}},"requested_by":"alertmanager","source":"alertmanager"}}`)

// Deflaters and inflaters are kept in small free lists rather than a
// sync.Pool: a pool is emptied by every garbage collection, and during a
// storm collections come every few milliseconds, so each body would pay
// for a new compressor (hundreds of KB). Writes run one at a time (inside
// bbolt's write transaction), reads a few at a time.
var (
	deflaters = make(chan *flate.Writer, 2)
	inflaters = make(chan io.ReadCloser, 4)
)

func getDeflater() *flate.Writer {
	select {
	case w := <-deflaters:
		return w
	default:
		w, _ := flate.NewWriterDict(io.Discard, bodyLevel, bodyDict) // a valid level never fails
		return w
	}
}

func putDeflater(w *flate.Writer) {
	select {
	case deflaters <- w:
	default:
	}
}

// encodeBody marshals b and deflates it.
func encodeBody(b *caseBody) ([]byte, error) {
	raw, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(len(raw)/2 + 16)
	out.WriteByte(bodyDeflated)
	w := getDeflater()
	defer putDeflater(w)
	w.Reset(&out)
	if _, err := w.Write(raw); err != nil {
		return nil, fmt.Errorf("deflate: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("deflate: %w", err)
	}
	return out.Bytes(), nil
}

// decodeBody unmarshals a stored body (deflated or plain JSON) into dst.
func decodeBody(v []byte, dst any) error {
	if len(v) == 0 || v[0] != bodyDeflated {
		return json.Unmarshal(v, dst)
	}
	src := bytes.NewReader(v[1:])
	var r io.ReadCloser
	select {
	case r = <-inflaters:
		if err := r.(flate.Resetter).Reset(src, bodyDict); err != nil {
			return fmt.Errorf("inflate: %w", err)
		}
	default:
		r = flate.NewReaderDict(src, bodyDict)
	}
	defer func() {
		select {
		case inflaters <- r:
		default:
		}
	}()
	raw, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("inflate: %w", err)
	}
	return json.Unmarshal(raw, dst)
}
