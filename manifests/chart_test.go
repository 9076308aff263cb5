package manifests

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/k8flex/k8flex/internal/apiservertest"
)

// chartDir is the Helm chart; postgresValues its PostgreSQL values.
var (
	chartDir       = filepath.Join("..", "charts", "k8flex")
	postgresValues = filepath.Join(chartDir, "ci", "postgres-values.yaml")
)

// helmBinary is the Helm CLI scripts/build-helm.sh builds (K8FLEX_HELM, or
// its default cache path). Without it the test skips, or fails under CI.
func helmBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv("K8FLEX_HELM")
	if path == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache")
		}
		path = filepath.Join(cache, "k8flex", "helm-v4.3.2", "helm")
	}
	if _, err := os.Stat(path); err != nil {
		msg := fmt.Sprintf("helm not found (%v): run scripts/build-helm.sh", err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

func helm(t *testing.T, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, helmBinary(t), args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s\n%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return out
}

// renderChart runs helm template for release k8flex in namespace k8flex.
func renderChart(t *testing.T, args ...string) ([]byte, []*unstructured.Unstructured) {
	t.Helper()
	out := helm(t, append([]string{"template", "k8flex", chartDir, "--namespace", "k8flex"}, args...)...)
	return out, decode(t, out)
}

func TestChartLint(t *testing.T) {
	for _, args := range [][]string{nil, {"-f", postgresValues}} {
		out := string(helm(t, append([]string{"lint", "--strict", chartDir}, args...)...))
		if !strings.Contains(out, "0 chart(s) failed") || strings.Contains(out, "[WARNING]") || strings.Contains(out, "[ERROR]") {
			t.Errorf("helm lint %v:\n%s", args, out)
		}
	}
}

// TestChartRender checks what the chart promises for the default values
// (embedded store on a PVC, a created Secret) and the PostgreSQL ones.
func TestChartRender(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		_, objs := renderChart(t)
		d := deployment(t, objs)
		checkHardened(t, d)
		if *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Errorf("embedded store: replicas %d strategy %q, want 1 and Recreate", *d.Spec.Replicas, d.Spec.Strategy.Type)
		}
		if v := volume(d, "data"); v == nil || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "k8flex-data" {
			t.Errorf("data volume = %+v, want the PVC k8flex-data", v)
		}
		find(t, objs, "PersistentVolumeClaim", "k8flex-data")
		cm := stringMap(t, find(t, objs, "ConfigMap", "k8flex"), "data")
		if cm["K8FLEX_SERVER_LISTEN"] != "0.0.0.0:8080" || cm["K8FLEX_KB_DATA_DIR"] != "/var/lib/k8flex" {
			t.Errorf("configmap = %v", cm)
		}
		if len(cm) != 3 {
			t.Errorf("configmap sets %d keys, want only the 3 the pod needs (the rest keep K8flex's defaults): %v", len(cm), cm)
		}
		sec := secretData(t, find(t, objs, "Secret", "k8flex"))
		if tok := sec["K8FLEX_SERVER_WEBHOOK_TOKEN"]; len(tok) != 40 {
			t.Errorf("generated webhook token %q, want 40 characters", tok)
		}
		for _, kind := range []string{"ServiceMonitor", "PodDisruptionBudget"} {
			if slices.ContainsFunc(objs, func(o *unstructured.Unstructured) bool { return o.GetKind() == kind }) {
				t.Errorf("%s rendered though not enabled", kind)
			}
		}
	})
	t.Run("postgres", func(t *testing.T) {
		_, objs := renderChart(t, "-f", postgresValues)
		d := deployment(t, objs)
		c := d.Spec.Template.Spec.Containers[0]
		if *d.Spec.Replicas != 2 || d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
			t.Errorf("postgres: replicas %d strategy %q, want 2 rolling", *d.Spec.Replicas, d.Spec.Strategy.Type)
		}
		if v := volume(d, "data"); v == nil || v.EmptyDir == nil {
			t.Errorf("data volume = %+v, want an emptyDir (no PVC with PostgreSQL)", v)
		}
		if len(c.Env) != 1 || c.Env[0].Name != "K8FLEX_KB_DATABASE_URL" || c.Env[0].ValueFrom.SecretKeyRef.Name != "k8flex-db-app" ||
			c.Env[0].ValueFrom.SecretKeyRef.Key != "uri" {
			t.Errorf("env = %+v, want K8FLEX_KB_DATABASE_URL from k8flex-db-app/uri", c.Env)
		}
		if !slices.ContainsFunc(c.EnvFrom, func(e corev1.EnvFromSource) bool { return e.SecretRef != nil && e.SecretRef.Name == "k8flex-tokens" }) {
			t.Errorf("envFrom = %+v, want the existing Secret k8flex-tokens", c.EnvFrom)
		}
		for _, o := range objs {
			if o.GetKind() == "Secret" || o.GetKind() == "PersistentVolumeClaim" {
				t.Errorf("%s %s rendered with an existing Secret and PostgreSQL", o.GetKind(), o.GetName())
			}
		}
		cm := stringMap(t, find(t, objs, "ConfigMap", "k8flex"), "data")
		for k, want := range map[string]string{
			"K8FLEX_SERVER_MAX_BODY_BYTES":    "67108864", // not 6.7108864e+07
			"K8FLEX_ENGINE_SIMILAR_THRESHOLD": "0.8",
			"K8FLEX_SLACK_ALLOWED_NAMESPACES": "shop,payments-*",
		} {
			if cm[k] != want {
				t.Errorf("configmap %s = %q, want %q", k, cm[k], want)
			}
		}
		find(t, objs, "PodDisruptionBudget", "k8flex")
		_, def := renderChart(t)
		if a, b := d.Spec.Template.Spec.SecurityContext, deployment(t, def).Spec.Template.Spec.SecurityContext; !reflect.DeepEqual(a, b) {
			t.Errorf("pod security context differs from the default's: %+v", a)
		}
	})
	t.Run("secrets created from values", func(t *testing.T) {
		_, objs := renderChart(t, "--set", "secret.server.webhook_token=tok-1", "--set", "secret.slack.bot_token=xoxb-1",
			"--set", "secret.kb.database_url=postgres://k8flex:pw@db:5432/k8flex", "--set", "replicaCount=3",
			"--set", "serviceMonitor.enabled=true")
		sec := secretData(t, find(t, objs, "Secret", "k8flex"))
		want := map[string]string{"K8FLEX_SERVER_WEBHOOK_TOKEN": "tok-1", "K8FLEX_SLACK_BOT_TOKEN": "xoxb-1",
			"K8FLEX_KB_DATABASE_URL": "postgres://k8flex:pw@db:5432/k8flex"}
		if !reflect.DeepEqual(sec, want) {
			t.Errorf("secret = %v, want %v (empty values left out)", sec, want)
		}
		if d := deployment(t, objs); *d.Spec.Replicas != 3 {
			t.Errorf("a database URL in the Secret selects PostgreSQL: replicas %d, want 3", *d.Spec.Replicas)
		}
		find(t, objs, "ServiceMonitor", "k8flex")
	})
}

// TestChartClusterRoleMatchesKustomize: the chart's ClusterRole grants
// exactly the rules of manifests/base/clusterrole.yaml, which
// TestClusterRoleIsLeastPrivilege and TestServiceAccountPermissions prove.
func TestChartClusterRoleMatchesKustomize(t *testing.T) {
	b, err := os.ReadFile("base/clusterrole.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var base rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(b, &base); err != nil {
		t.Fatal(err)
	}
	_, objs := renderChart(t)
	var chart rbacv1.ClusterRole
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(find(t, objs, "ClusterRole", "k8flex-reader").Object, &chart); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(chart.Rules, base.Rules) {
		t.Errorf("chart rules differ from the kustomize base's:\nchart: %+v\nbase:  %+v", chart.Rules, base.Rules)
	}
	crb := find(t, objs, "ClusterRoleBinding", "k8flex-reader")
	subjects, _, _ := unstructured.NestedSlice(crb.Object, "subjects")
	if len(subjects) != 1 || subjects[0].(map[string]any)["name"] != "k8flex" || subjects[0].(map[string]any)["namespace"] != "k8flex" {
		t.Errorf("binding subjects = %v, want the ServiceAccount k8flex/k8flex", subjects)
	}
}

// TestChartApplyDryRun applies the default and PostgreSQL renders to a
// real API server with a server-side dry run, in a namespace enforcing
// the restricted Pod Security Standard: schema errors, unknown fields and
// Pod Security violations fail.
func TestChartApplyDryRun(t *testing.T) {
	s := apiservertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, _, err := s.Kubectl(ctx, nil, "apply", "--server-side", "-f", "base/namespace.yaml"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"default", nil},
		{"postgres", []string{"-f", postgresValues}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rendered, objs := renderChart(t, tt.args...)
			out, warnings, err := s.Kubectl(ctx, rendered, "apply", "--server-side", "--dry-run=server",
				"--field-manager=k8flex-test", "--validate=strict", "-f", "-")
			if err != nil {
				t.Fatalf("dry-run apply: %v", err)
			}
			if w := strings.TrimSpace(string(warnings)); w != "" {
				t.Errorf("dry-run apply warned:\n%s", w)
			}
			if n := strings.Count(string(out), "(server dry run)"); n != len(objs) {
				t.Errorf("%d objects dry-run applied, want %d:\n%s", n, len(objs), out)
			}
		})
	}
}

// TestChartDeploymentStarts starts k8flex serve as a process with the
// environment the rendered Deployment gives its container (the ConfigMap
// and the created Secret), against a real API server: it starts, /ready
// answers 200, and the webhook wants the Secret's token. Only what a pod
// provides differently is replaced: the cluster (a kubeconfig instead of
// the in-cluster configuration), the data volume (a temporary directory)
// and the port (a free one, on the same all-interfaces address).
func TestChartDeploymentStarts(t *testing.T) {
	_, objs := renderChart(t)
	s := apiservertest.Start(t)
	d := deployment(t, objs)
	c := d.Spec.Template.Spec.Containers[0]
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			for k, v := range stringMap(t, find(t, objs, "ConfigMap", from.ConfigMapRef.Name), "data") {
				env[k] = v
			}
		case from.SecretRef != nil:
			for k, v := range secretData(t, find(t, objs, "Secret", from.SecretRef.Name)) {
				env[k] = v
			}
		}
	}
	if len(c.Env) != 0 {
		t.Fatalf("default values set env %v beyond envFrom", c.Env)
	}
	token := env["K8FLEX_SERVER_WEBHOOK_TOKEN"]
	host, _, err := net.SplitHostPort(env["K8FLEX_SERVER_LISTEN"])
	if err != nil || host != "0.0.0.0" || token == "" {
		t.Fatalf("listen %q token set %t: want all interfaces and a token", env["K8FLEX_SERVER_LISTEN"], token != "")
	}
	port := freePort(t)
	env["K8FLEX_SERVER_LISTEN"] = net.JoinHostPort(host, port)
	env["K8FLEX_KB_DATA_DIR"] = t.TempDir()
	env["K8FLEX_KUBE_KUBECONFIG"] = s.Kubeconfig

	bin := filepath.Join(t.TempDir(), "k8flex")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/k8flex").CombinedOutput(); err != nil {
		t.Fatalf("build k8flex: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, c.Args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	base := "http://127.0.0.1:" + port
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("k8flex serve exited: %v\n%s", err, logs.String())
		default:
		}
		resp, err := http.Get(base + c.ReadinessProbe.HTTPGet.Path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200 within 30s (last: %v)\n%s", c.ReadinessProbe.HTTPGet.Path, err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := http.Get(base + c.LivenessProbe.HTTPGet.Path)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("liveness %s: %v %v", c.LivenessProbe.HTTPGet.Path, resp, err)
	} else {
		resp.Body.Close()
	}
	resp, err = http.Post(base+"/webhook", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("webhook without the Secret's token: %d, want 401", resp.StatusCode)
	}
	if strings.Contains(logs.String(), token) {
		t.Error("the webhook token reached the log")
	}
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func stringMap(t *testing.T, o *unstructured.Unstructured, field string) map[string]string {
	t.Helper()
	m, _, err := unstructured.NestedStringMap(o.Object, field)
	if err != nil {
		t.Fatalf("%s %s .%s: %v", o.GetKind(), o.GetName(), field, err)
	}
	return m
}

// secretData returns a rendered Secret's data, decoded.
func secretData(t *testing.T, o *unstructured.Unstructured) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range stringMap(t, o, "data") {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Fatalf("secret %s key %s: %v", o.GetName(), k, err)
		}
		out[k] = string(b)
	}
	for k, v := range stringMap(t, o, "stringData") {
		out[k] = v
	}
	return out
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// TestChartNotesReceiver checks the Alertmanager receiver the chart's NOTES
// print with the real amtool, and that they name the Service's webhook
// paths for Alertmanager and Grafana.
func TestChartNotesReceiver(t *testing.T) {
	amtool := amtoolPath(t)
	out := string(helm(t, "install", "k8flex", chartDir, "--namespace", "k8flex", "--dry-run=client"))
	_, notes, ok := strings.Cut(out, "NOTES:\n")
	if !ok {
		t.Fatalf("no NOTES in:\n%s", out)
	}
	for _, want := range []string{"http://k8flex.k8flex.svc:8080/webhook/grafana", "k8flex doctor", "K8FLEX_SERVER_WEBHOOK_TOKEN"} {
		if !strings.Contains(notes, want) {
			t.Errorf("NOTES lack %q", want)
		}
	}
	start := strings.Index(notes, "  receivers:\n")
	end := strings.Index(notes, "<the token of step 2>")
	if start < 0 || end < start {
		t.Fatalf("no receiver block in NOTES:\n%s", notes)
	}
	var cfg strings.Builder
	cfg.WriteString("route: {receiver: k8flex}\n")
	for _, line := range strings.Split(notes[start:end]+"REPLACE_WITH_TOKEN", "\n") {
		cfg.WriteString(strings.TrimPrefix(line, "  ") + "\n")
	}
	path := filepath.Join(t.TempDir(), "alertmanager.yml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := exec.Command(amtool, "check-config", path).CombinedOutput()
	if err != nil || !strings.Contains(string(res), "1 receivers") {
		t.Errorf("amtool check-config of the NOTES' receiver: %v\n%s\n%s", err, res, cfg.String())
	}
	if !strings.Contains(cfg.String(), "url: http://k8flex.k8flex.svc:8080/webhook\n") {
		t.Errorf("receiver does not post to the Service's /webhook:\n%s", cfg.String())
	}
}
