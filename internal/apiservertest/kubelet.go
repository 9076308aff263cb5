package apiservertest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Kubelet is a fake kubelet: a TLS server that answers the API server's
// /containerLogs/{namespace}/{pod}/{container} requests with the logs set by
// SetLog, honouring previous= and tailLines=. Pods bound (spec.nodeName) to a
// node registered with Server.AddNode get their logs from it through the real
// pods/log endpoint. It is safe for concurrent use.
//
// For a log that was not set it answers as a kubelet does from the pod's
// status in the API server: an empty log when the status shows that the
// container instance ran (running, or terminated now or last time; container
// IDs are not required, recordings seldom carry them), else a 400 in the
// kubelet's words ("previous terminated container ... not found",
// "... is waiting to start: CrashLoopBackOff").
type Kubelet struct {
	srv  *httptest.Server
	port int

	mu       sync.Mutex
	logs     map[logKey]string
	requests []string
	// pod reads a pod from the API server; nil until the server is ready.
	pod func(ctx context.Context, namespace, name string) (*corev1.Pod, error)
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

// readPodsWith makes the kubelet read pods through c.
func (k *Kubelet) readPodsWith(c kubernetes.Interface) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.pod = func(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
		return c.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	}
}

// reset forgets every log and request.
func (k *Kubelet) reset() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.logs = map[logKey]string{}
	k.requests = nil
}

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
		if code, msg := k.noLog(r.Context(), key); code != http.StatusOK {
			http.Error(w, msg, code)
			return
		}
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

// noLog answers a request for a log that was not set: 200 when the pod's
// status shows the container instance ran (its log is empty), else the
// kubelet's status code and words.
func (k *Kubelet) noLog(ctx context.Context, key logKey) (int, string) {
	k.mu.Lock()
	get := k.pod
	k.mu.Unlock()
	if get == nil {
		return http.StatusBadRequest, fmt.Sprintf("container %q in pod %q is waiting to start - no logs yet", key.container, key.pod)
	}
	pod, err := get(ctx, key.namespace, key.pod)
	if apierrors.IsNotFound(err) {
		return http.StatusNotFound, fmt.Sprintf("pod %q does not exist", key.namespace+"/"+key.pod)
	}
	if err != nil {
		return http.StatusInternalServerError, fmt.Sprintf("read pod %s/%s: %v", key.namespace, key.pod, err)
	}
	var cs *corev1.ContainerStatus
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses, pod.Status.EphemeralContainerStatuses} {
		for i := range list {
			if list[i].Name == key.container && cs == nil {
				cs = &list[i]
			}
		}
	}
	if cs == nil {
		return http.StatusBadRequest, fmt.Sprintf("container %q in pod %q is not available", key.container, key.pod)
	}
	last := cs.LastTerminationState.Terminated
	switch {
	case key.previous && last == nil:
		return http.StatusBadRequest, fmt.Sprintf("previous terminated container %q in pod %q not found", key.container, key.pod)
	case key.previous, cs.State.Running != nil, cs.State.Terminated != nil, last != nil:
		return http.StatusOK, ""
	case cs.State.Waiting != nil:
		why := cs.State.Waiting.Reason
		switch why {
		case "ErrImagePull":
			why = "image can't be pulled"
		case "ImagePullBackOff":
			why = "trying and failing to pull image"
		}
		return http.StatusBadRequest, fmt.Sprintf("container %q in pod %q is waiting to start: %s", key.container, key.pod, why)
	}
	return http.StatusBadRequest, fmt.Sprintf("container %q in pod %q is waiting to start - no logs yet", key.container, key.pod)
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
