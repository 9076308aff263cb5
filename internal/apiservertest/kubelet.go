package apiservertest

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
)

// Kubelet is a fake kubelet: a TLS server that answers the API server's
// /containerLogs/{namespace}/{pod}/{container} requests with the logs set by
// SetLog, honouring previous= and tailLines=. Pods bound (spec.nodeName) to a
// node registered with Server.AddNode get their logs from it through the real
// pods/log endpoint. It is safe for concurrent use.
type Kubelet struct {
	srv  *httptest.Server
	port int

	mu       sync.Mutex
	logs     map[logKey]string
	requests []string
}

type logKey struct {
	namespace, pod, container string
	previous                  bool
}

func newKubelet(pair keyPair) (*Kubelet, error) {
	cert, err := tls.X509KeyPair(pair.certPEM, pair.keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load kubelet certificate: %w", err)
	}
	k := &Kubelet{logs: map[logKey]string{}}
	k.srv = httptest.NewUnstartedServer(http.HandlerFunc(k.serve))
	k.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	k.srv.StartTLS()
	_, port, err := net.SplitHostPort(k.srv.Listener.Addr().String())
	if err != nil {
		k.srv.Close()
		return nil, fmt.Errorf("kubelet address: %w", err)
	}
	k.port, _ = strconv.Atoi(port)
	return k, nil
}

// Port is the port the fake kubelet listens on (on 127.0.0.1).
func (k *Kubelet) Port() int { return k.port }

// SetLog sets the log text of a container instance: the current one, or the
// previous (terminated) one when previous is true.
func (k *Kubelet) SetLog(namespace, pod, container string, previous bool, text string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.logs[logKey{namespace, pod, container, previous}] = text
}

// Requests returns the request URIs (path and query) the kubelet received, in order.
func (k *Kubelet) Requests() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.requests...)
}

func (k *Kubelet) close() { k.srv.Close() }

func (k *Kubelet) serve(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	k.requests = append(k.requests, r.URL.RequestURI())
	k.mu.Unlock()

	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/containerLogs/"), "/")
	if !strings.HasPrefix(r.URL.Path, "/containerLogs/") || len(parts) != 3 {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	key := logKey{parts[0], parts[1], parts[2], q.Get("previous") == "true"}
	k.mu.Lock()
	text, ok := k.logs[key]
	k.mu.Unlock()
	if !ok {
		// The real kubelet's wording, so callers see what a cluster would tell them.
		msg := fmt.Sprintf("container %q in pod %q is waiting to start: ContainerCreating", key.container, key.pod)
		if key.previous {
			msg = fmt.Sprintf("previous terminated container %q in pod %q not found", key.container, key.pod)
		}
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	if s := q.Get("tailLines"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			http.Error(w, "invalid tailLines "+strconv.Quote(s), http.StatusBadRequest)
			return
		}
		text = tail(text, n)
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(text))
}

// tail returns the last n lines of text (a trailing newline ends the last line).
func tail(text string, n int) string {
	lines := strings.SplitAfter(text, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if n < len(lines) {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}
