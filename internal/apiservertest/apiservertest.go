package apiservertest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Version is the Kubernetes release the harness runs.
const Version = "v1.37.2"

// serviceCIDR is the server's Service IP range: the usual kubeadm range, so
// that recorded clusters keep their ClusterIPs.
var serviceCIDR = &net.IPNet{IP: net.IPv4(10, 96, 0, 0), Mask: net.CIDRMask(12, 32)}

// startTimeout bounds how long etcd plus the API server may take to become
// ready; generous because CI machines are small and shared.
const startTimeout = 2 * time.Minute

// Binaries are the executables the harness runs.
type Binaries struct {
	APIServer string // kube-apiserver
	Kubectl   string // kubectl of the same release
	Etcd      string // etcd (Debian's etcd-server package)
}

// DefaultDir is where scripts/build-apiserver.sh puts kube-apiserver and
// kubectl unless K8FLEX_APISERVER_DIR says otherwise:
// ${XDG_CACHE_HOME:-$HOME/.cache}/k8flex/apiserver-v1.37.2.
func DefaultDir() string {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		cache = filepath.Join(os.Getenv("HOME"), ".cache")
	}
	return filepath.Join(cache, "k8flex", "apiserver-"+Version)
}

// FindBinaries locates the binaries: kube-apiserver and kubectl in
// $K8FLEX_APISERVER_DIR (default DefaultDir()), etcd at $K8FLEX_ETCD, on the
// PATH, or at /usr/bin/etcd. It returns an error naming every missing one.
func FindBinaries() (Binaries, error) {
	dir := os.Getenv("K8FLEX_APISERVER_DIR")
	if dir == "" {
		dir = DefaultDir()
	}
	b := Binaries{
		APIServer: filepath.Join(dir, "kube-apiserver"),
		Kubectl:   filepath.Join(dir, "kubectl"),
		Etcd:      os.Getenv("K8FLEX_ETCD"),
	}
	if b.Etcd == "" {
		if p, err := exec.LookPath("etcd"); err == nil {
			b.Etcd = p
		} else {
			b.Etcd = "/usr/bin/etcd"
		}
	}
	var errs []error
	for _, p := range []string{b.APIServer, b.Kubectl, b.Etcd} {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			errs = append(errs, fmt.Errorf("%s is missing", p))
		}
	}
	return b, errors.Join(errs...)
}

// RequireBinaries returns the binaries, or, when one is missing, skips tb
// saying how to get them; when the CI environment variable is set it fails
// tb instead, because CI must install everything its tests wait for.
func RequireBinaries(tb testing.TB) Binaries {
	tb.Helper()
	bins, err := FindBinaries()
	if err != nil {
		msg := fmt.Sprintf("real API server unavailable: %v; build it with scripts/build-apiserver.sh and install etcd with scripts/install-deps.sh (scripts/test.sh does both)", err)
		if os.Getenv("CI") != "" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return bins
}

// Server is a running etcd + kube-apiserver pair with a fake kubelet. It is
// stopped, and its files removed, when the test that started it ends.
type Server struct {
	// Config is a client configuration with cluster-admin rights
	// (a client certificate in group system:masters).
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file holding Config, for kubectl.
	Kubeconfig string
	// Kubelet serves container logs for pods on nodes added with AddNode.
	Kubelet *Kubelet
	// Binaries are the executables in use.
	Binaries Binaries

	caPEM []byte
	dir   string
}

// Start starts etcd and kube-apiserver on free loopback ports, waits until
// the API server is ready, adds to namespace "default" what the missing
// controller-manager would (see CreateNamespace), and registers their
// shutdown with tb.Cleanup. Without the binaries it skips tb, or fails it
// when the CI environment variable is set, naming the command that builds
// them.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bins := RequireBinaries(tb)
	var err error
	// Free ports are picked before the processes bind them, so another
	// process can take one in between: retry the whole start-up once.
	var s *Server
	for attempt := 1; ; attempt++ {
		s, err = start(tb, bins)
		if err == nil || attempt == 2 {
			break
		}
		tb.Logf("api server start-up failed, retrying: %v", err)
	}
	if err != nil {
		tb.Fatalf("start api server: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.ensureNamespaceDefaults(ctx, "default"); err != nil {
		tb.Fatal(err)
	}
	return s
}

func start(tb testing.TB, bins Binaries) (*Server, error) {
	dir, err := os.MkdirTemp("", "k8flex-apiserver-")
	if err != nil {
		return nil, fmt.Errorf("create server dir: %w", err)
	}
	var procs []*process
	var kubelet *Kubelet
	stop := func() {
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].stop()
		}
		if kubelet != nil {
			kubelet.close()
		}
		_ = os.RemoveAll(dir)
	}
	ok := false
	defer func() {
		if !ok {
			stop()
		}
	}()

	ca, err := newAuthority()
	if err != nil {
		return nil, err
	}
	caFile := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caFile, ca.certPEM, 0o600); err != nil {
		return nil, fmt.Errorf("write ca: %w", err)
	}
	loopback := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(10, 96, 0, 1)}
	serving, err := ca.issue(2, "kube-apiserver", nil, loopback,
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"})
	if err != nil {
		return nil, err
	}
	admin, err := ca.issue(3, "k8flex-test-admin", []string{"system:masters"}, nil, nil)
	if err != nil {
		return nil, err
	}
	kubeletClient, err := ca.issue(4, "kube-apiserver-kubelet-client", []string{"system:masters"}, nil, nil)
	if err != nil {
		return nil, err
	}
	kubeletServing, err := ca.issue(5, "fake-kubelet", nil, []net.IP{net.IPv4(127, 0, 0, 1)}, []string{"localhost"})
	if err != nil {
		return nil, err
	}
	servingCert, servingKey, err := serving.write(dir, "apiserver")
	if err != nil {
		return nil, err
	}
	kcCert, kcKey, err := kubeletClient.write(dir, "kubelet-client")
	if err != nil {
		return nil, err
	}
	saKey, saPub, err := signingKey(dir)
	if err != nil {
		return nil, err
	}

	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	etcd, err := startProcess(dir, "etcd", bins.Etcd,
		"--name=default",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		"--unsafe-no-fsync",
		"--log-level=warn",
	)
	if err != nil {
		return nil, err
	}
	procs = append(procs, etcd)
	deadline := time.Now().Add(startTimeout)
	if err := waitFor(deadline, etcd, func() bool {
		resp, err := http.Get(etcdURL + "/health")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}); err != nil {
		return nil, fmt.Errorf("etcd not healthy: %w", err)
	}

	kubelet, err = newKubelet(kubeletServing)
	if err != nil {
		return nil, err
	}

	apiPort := strconv.Itoa(ports[2])
	apiserver, err := startProcess(dir, "kube-apiserver", bins.APIServer,
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// No endpoint reconciler: it refuses a loopback advertise address.
		"--endpoint-reconciler-type=none",
		"--secure-port="+apiPort,
		"--cert-dir="+filepath.Join(dir, "certs"),
		"--tls-cert-file="+servingCert,
		"--tls-private-key-file="+servingKey,
		"--client-ca-file="+caFile,
		"--authorization-mode=RBAC,Node",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+saPub,
		"--service-account-signing-key-file="+saKey,
		"--api-audiences=https://kubernetes.default.svc",
		"--service-cluster-ip-range="+serviceCIDR.String(),
		"--kubelet-certificate-authority="+caFile,
		"--kubelet-client-certificate="+kcCert,
		"--kubelet-client-key="+kcKey,
		// Only the ExternalDNS address is dialled (a type recordings seldom
		// hold): nodes registered here get one pointing at the fake kubelet
		// on 127.0.0.1, and their recorded addresses are kept as they were,
		// never contacted.
		"--kubelet-preferred-address-types="+string(corev1.NodeExternalDNS),
		"--enable-priority-and-fairness=false",
		"--v=0",
	)
	if err != nil {
		return nil, err
	}
	procs = append(procs, apiserver)

	adminCfg := &rest.Config{
		Host: "https://127.0.0.1:" + apiPort,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   ca.certPEM,
			CertData: admin.certPEM,
			KeyData:  admin.keyPEM,
		},
		QPS:   200,
		Burst: 400,
		// Deprecation warnings (v1 Endpoints) are expected from recorded
		// clusters; they would only clutter test logs.
		WarningHandler: rest.NoWarnings{},
	}
	ready, err := readyProbe(adminCfg)
	if err != nil {
		return nil, err
	}
	if err := waitFor(deadline, apiserver, ready); err != nil {
		return nil, fmt.Errorf("kube-apiserver not ready: %w", err)
	}

	adminClient, err := kubernetes.NewForConfig(adminCfg)
	if err != nil {
		return nil, fmt.Errorf("admin client: %w", err)
	}
	kubelet.readPodsWith(adminClient)
	s := &Server{Config: adminCfg, Kubelet: kubelet, Binaries: bins, caPEM: ca.certPEM, dir: dir}
	s.Kubeconfig = filepath.Join(dir, "admin.kubeconfig")
	if err := os.WriteFile(s.Kubeconfig, kubeconfig(adminCfg), 0o600); err != nil {
		return nil, fmt.Errorf("write kubeconfig: %w", err)
	}
	ok = true
	tb.Cleanup(stop)
	return s, nil
}

// Client returns a cluster-admin clientset.
func (s *Server) Client(tb testing.TB) kubernetes.Interface {
	tb.Helper()
	c, err := kubernetes.NewForConfig(s.Config)
	if err != nil {
		tb.Fatalf("admin client: %v", err)
	}
	return c
}

// CreateNamespace creates namespace name with what the missing
// controller-manager would add to it (the "default" ServiceAccount and the
// kube-root-ca.crt ConfigMap that service-account token volumes mount),
// failing tb on error. An existing namespace is completed, not an error.
func (s *Server) CreateNamespace(tb testing.TB, name string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.createNamespace(ctx, name); err != nil {
		tb.Fatal(err)
	}
}

func (s *Server) createNamespace(ctx context.Context, name string) error {
	c, err := kubernetes.NewForConfig(s.Config)
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return s.ensureNamespaceDefaults(ctx, name)
}

func (s *Server) ensureNamespaceDefaults(ctx context.Context, ns string) error {
	if _, err := s.ensureServiceAccount(ctx, ns, "default"); err != nil {
		return err
	}
	c, err := kubernetes.NewForConfig(s.Config)
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt", Namespace: ns},
		Data:       map[string]string{"ca.crt": string(s.caPEM)},
	}
	if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create configmap %s/kube-root-ca.crt: %w", ns, err)
	}
	return nil
}

// ensureServiceAccount creates ServiceAccount ns/name unless it exists, and
// reports whether it created it.
func (s *Server) ensureServiceAccount(ctx context.Context, ns, name string) (bool, error) {
	c, err := kubernetes.NewForConfig(s.Config)
	if err != nil {
		return false, fmt.Errorf("admin client: %w", err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	_, err = c.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("create serviceaccount %s/%s: %w", ns, name, err)
	}
	return true, nil
}

// AddNode creates a Node named name whose InternalIP is 127.0.0.1, whose
// Hostname is name, and whose kubelet (at its ExternalDNS address
// 127.0.0.1, the one the API server dials) is the fake Kubelet, so that the
// logs of pods bound to it (spec.nodeName) are served by s.Kubelet. The
// node's status is written with the status subresource: Ready unless
// conditions says otherwise (conditions replace the default Ready=True
// condition entirely when given). A Ready node loses the not-ready taint
// admission puts on every new node, as the node lifecycle controller would
// remove it.
func (s *Server) AddNode(tb testing.TB, name string, conditions ...corev1.NodeCondition) *corev1.Node {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node, err := s.addNode(ctx, name, conditions...)
	if err != nil {
		tb.Fatal(err)
	}
	return node
}

func (s *Server) addNode(ctx context.Context, name string, conditions ...corev1.NodeCondition) (*corev1.Node, error) {
	c, err := kubernetes.NewForConfig(s.Config)
	if err != nil {
		return nil, fmt.Errorf("admin client: %w", err)
	}
	node, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name:   name,
		Labels: map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
	}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create node %s: %w", name, err)
	}
	now := metav1.Now()
	if len(conditions) == 0 {
		conditions = []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			Message: "kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now,
		}}
	}
	node.Status = corev1.NodeStatus{
		Conditions: conditions,
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: "127.0.0.1"},
			{Type: corev1.NodeHostName, Address: name},
			// The address the API server dials for logs (see Start).
			{Type: corev1.NodeExternalDNS, Address: "127.0.0.1"},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{
			KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(s.Kubelet.Port())},
		},
		NodeInfo: corev1.NodeSystemInfo{KubeletVersion: Version, OperatingSystem: "linux", Architecture: "amd64"},
	}
	node, err = c.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("update node %s status: %w", name, err)
	}
	ready := slices.ContainsFunc(conditions, func(c corev1.NodeCondition) bool {
		return c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue
	})
	if ready && len(node.Spec.Taints) > 0 {
		node.Spec.Taints = slices.DeleteFunc(node.Spec.Taints, func(t corev1.Taint) bool { return t.Key == corev1.TaintNodeNotReady })
		if node, err = c.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
			return nil, fmt.Errorf("untaint node %s: %w", name, err)
		}
	}
	return node, nil
}

// Kubectl runs the server's kubectl with the admin kubeconfig and args,
// feeding it stdin, and returns its standard output and standard error
// (where kubectl prints warnings); on failure the error holds the latter.
func (s *Server) Kubectl(ctx context.Context, stdin []byte, args ...string) (stdout, stderr []byte, err error) {
	return RunKubectl(ctx, s.Binaries.Kubectl, stdin, append([]string{"--kubeconfig=" + s.Kubeconfig}, args...)...)
}

// RunKubectl runs the kubectl binary at path with args (no kubeconfig is
// added: use it for `kubectl kustomize`), and returns its standard output
// and standard error; on failure the error holds the latter.
func RunKubectl(ctx context.Context, path string, stdin []byte, args ...string) (stdout, stderr []byte, err error) {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG=/dev/null", "HOME="+os.TempDir())
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.Bytes(), errOut.Bytes(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.Bytes(), errOut.Bytes(), nil
}

// readyProbe returns a check that the API server answers /readyz with 200.
func readyProbe(cfg *rest.Config) (func() bool, error) {
	tlsCfg, err := rest.TLSConfigFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("admin tls config: %w", err)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	return func() bool {
		resp, err := client.Get(cfg.Host + "/readyz")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, nil
}

// waitFor polls ok until it holds, the deadline passes, or p exits.
func waitFor(deadline time.Time, p *process, ok func() bool) error {
	for {
		if ok() {
			return nil
		}
		if err := p.exited(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out; %s log:\n%s", p.name, p.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// kubeconfig renders cfg (certificate authentication) as a kubeconfig file.
func kubeconfig(cfg *rest.Config) []byte {
	b64 := base64.StdEncoding.EncodeToString
	return []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: test
  context: {cluster: test, user: admin}
current-context: test
`, cfg.Host, b64(cfg.CAData), b64(cfg.CertData), b64(cfg.KeyData)))
}
