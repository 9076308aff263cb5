package manifests

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/k8flex/k8flex/internal/apiservertest"
	"github.com/k8flex/k8flex/k8s"
)

// collectorReads is every resource K8flex's collectors read (get and list)
// on the core API server, and extraReads the other read permissions they
// need (the pods/log subresource, the aggregated metrics API): the
// ClusterRole must grant exactly these, and the ServiceAccount must be able
// to read each of them on a real API server.
var collectorReads, extraReads = splitReads(k8s.ReadResources())

func splitReads(all []schema.GroupVersionResource) (plain []schema.GroupVersionResource, extra []authorizationv1.ResourceAttributes) {
	extra = append(extra, authorizationv1.ResourceAttributes{Resource: "pods", Subresource: "log"})
	for _, r := range all {
		if r.Group == "metrics.k8s.io" {
			extra = append(extra, authorizationv1.ResourceAttributes{Group: r.Group, Resource: r.Resource})
			continue
		}
		plain = append(plain, r)
	}
	return plain, extra
}

var overlays = []string{"base", "overlays/embedded", "overlays/postgres"}

// TestClusterRoleIsLeastPrivilege reads the shipped ClusterRole itself: only
// get and list, no wildcard, no Secrets, and exactly the collectors' resources.
func TestClusterRoleIsLeastPrivilege(t *testing.T) {
	b, err := os.ReadFile("base/clusterrole.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(b, &role); err != nil {
		t.Fatalf("parse clusterrole: %v", err)
	}
	granted := map[string]bool{}
	for _, r := range role.Rules {
		if len(r.ResourceNames)+len(r.NonResourceURLs) > 0 {
			t.Errorf("rule %+v: resourceNames/nonResourceURLs are not expected", r)
		}
		if !slices.Equal(r.Verbs, []string{"get", "list"}) {
			t.Errorf("rule %v %v: verbs %v, want exactly [get list]", r.APIGroups, r.Resources, r.Verbs)
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				if g == "*" || res == "*" {
					t.Errorf("wildcard in rule %+v", r)
				}
				if res == "secrets" {
					t.Errorf("the ClusterRole grants secrets in group %q", g)
				}
				granted[g+"/"+res] = true
			}
		}
	}
	want := map[string]bool{}
	for _, r := range collectorReads {
		want[r.Group+"/"+r.Resource] = true
	}
	for _, r := range extraReads {
		res := r.Resource
		if r.Subresource != "" {
			res += "/" + r.Subresource
		}
		want[r.Group+"/"+res] = true
	}
	for k := range want {
		if !granted[k] {
			t.Errorf("the ClusterRole does not grant %s, which the collectors read", k)
		}
	}
	for k := range granted {
		if !want[k] {
			t.Errorf("the ClusterRole grants %s, which no collector reads", k)
		}
	}
}

// TestRender renders every overlay with the real kubectl (kustomize) and
// checks what each one promises.
func TestRender(t *testing.T) {
	kubectl := apiservertest.RequireBinaries(t).Kubectl
	for _, tt := range []struct {
		dir   string
		check func(t *testing.T, objs []*unstructured.Unstructured)
	}{
		{dir: "base", check: func(t *testing.T, objs []*unstructured.Unstructured) {
			d := deployment(t, objs)
			checkHardened(t, d)
			if v := volume(d, "data"); v == nil || v.EmptyDir == nil {
				t.Errorf("base data volume = %+v, want an emptyDir", v)
			}
			s := find(t, objs, "Secret", "k8flex")
			data, _, _ := unstructured.NestedStringMap(s.Object, "stringData")
			for _, key := range []string{"K8FLEX_SERVER_WEBHOOK_TOKEN", "K8FLEX_SLACK_BOT_TOKEN", "K8FLEX_SLACK_APP_TOKEN", "K8FLEX_LLM_API_KEY", "K8FLEX_KB_DATABASE_URL"} {
				v, ok := data[key]
				if !ok {
					t.Errorf("secret template lacks %s", key)
				}
				if v != "" && !strings.HasPrefix(v, "REPLACE_WITH_") {
					t.Errorf("secret template %s = %q, want a placeholder", key, v)
				}
			}
		}},
		{dir: "overlays/embedded", check: func(t *testing.T, objs []*unstructured.Unstructured) {
			d := deployment(t, objs)
			checkHardened(t, d)
			if *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
				t.Errorf("embedded store: replicas %d strategy %q, want 1 and Recreate", *d.Spec.Replicas, d.Spec.Strategy.Type)
			}
			v := volume(d, "data")
			if v == nil || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "k8flex-data" || v.EmptyDir != nil {
				t.Errorf("data volume = %+v, want only the PVC k8flex-data", v)
			}
			find(t, objs, "PersistentVolumeClaim", "k8flex-data")
		}},
		{dir: "overlays/postgres", check: func(t *testing.T, objs []*unstructured.Unstructured) {
			d := deployment(t, objs)
			checkHardened(t, d)
			if *d.Spec.Replicas < 2 {
				t.Errorf("postgres overlay runs %d replicas, want several", *d.Spec.Replicas)
			}
			var fromDB bool
			for _, e := range d.Spec.Template.Spec.Containers[0].Env {
				if e.Name == "K8FLEX_KB_DATABASE_URL" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil &&
					e.ValueFrom.SecretKeyRef.Name == "k8flex-postgres" {
					fromDB = true
				}
			}
			if !fromDB {
				t.Error("K8flex is not pointed at the database's Secret (K8FLEX_KB_DATABASE_URL)")
			}
			find(t, objs, "StatefulSet", "k8flex-postgres")
			find(t, objs, "Service", "k8flex-postgres")
			find(t, objs, "Secret", "k8flex-postgres")
		}},
	} {
		t.Run(tt.dir, func(t *testing.T) {
			objs := render(t, kubectl, tt.dir)
			for _, kind := range []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Secret", "Deployment", "Service"} {
				if !slices.ContainsFunc(objs, func(o *unstructured.Unstructured) bool { return o.GetKind() == kind }) {
					t.Errorf("no %s rendered", kind)
				}
			}
			for _, o := range objs {
				if ns := o.GetNamespace(); ns != "" && ns != "k8flex" {
					t.Errorf("%s %s is in namespace %q, want k8flex", o.GetKind(), o.GetName(), ns)
				}
			}
			tt.check(t, objs)
		})
	}
}

// TestApplyDryRun applies every rendered overlay to a real API server with a
// server-side dry run, so schema errors, unknown fields and Pod Security
// ("restricted", as the namespace enforces) violations fail.
func TestApplyDryRun(t *testing.T) {
	s := apiservertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The namespace must exist for its objects to be dry-run: create it from the manifest.
	if _, _, err := s.Kubectl(ctx, nil, "apply", "--server-side", "-f", "base/namespace.yaml"); err != nil {
		t.Fatal(err)
	}
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			rendered, _, err := apiservertest.RunKubectl(ctx, s.Binaries.Kubectl, nil, "kustomize", dir)
			if err != nil {
				t.Fatal(err)
			}
			out, warnings, err := s.Kubectl(ctx, rendered, "apply", "--server-side", "--dry-run=server",
				"--field-manager=k8flex-test", "--validate=strict", "-f", "-")
			if err != nil {
				t.Fatalf("dry-run apply: %v", err)
			}
			if w := strings.TrimSpace(string(warnings)); w != "" {
				t.Errorf("dry-run apply warned:\n%s", w)
			}
			if n, want := strings.Count(string(out), "(server dry run)"), len(decode(t, rendered)); n != want {
				t.Errorf("%d objects dry-run applied, want %d:\n%s", n, want, out)
			}
		})
	}
	t.Run("unhardened pod warns", func(t *testing.T) {
		// The warnings check above is only worth something if a violation warns.
		bad := []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: loose, namespace: k8flex}
spec:
  selector: {matchLabels: {app: loose}}
  template:
    metadata: {labels: {app: loose}}
    spec:
      containers: [{name: c, image: busybox}]
`)
		_, warnings, err := s.Kubectl(ctx, bad, "apply", "--server-side", "--dry-run=server", "-f", "-")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(warnings), "PodSecurity") {
			t.Errorf("no PodSecurity warning for a container without securityContext in the restricted namespace: %q", warnings)
		}
	})
	t.Run("broken manifest fails", func(t *testing.T) {
		bad := []byte("apiVersion: v1\nkind: Service\nmetadata: {name: bad, namespace: k8flex}\nspec: {ports: [{port: 80, protocl: TCP}]}\n")
		if _, _, err := s.Kubectl(ctx, bad, "apply", "--server-side", "--dry-run=server", "--validate=strict", "-f", "-"); err == nil {
			t.Error("a Service with an unknown field was accepted: the dry run proves nothing")
		}
	})
}

// TestServiceAccountPermissions applies the base for real and acts as
// K8flex's ServiceAccount with a real token: it reads every resource the
// collectors read, and is refused Secrets and every write.
func TestServiceAccountPermissions(t *testing.T) {
	s := apiservertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s.ApplyKustomization(t, "base")
	s.CreateNamespace(t, "shop")
	admin := s.Client(t)
	if _, err := admin.CoreV1().Secrets("shop").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop"},
		StringData: map[string]string{"password": "hunter2"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	cfg := s.ServiceAccountConfig(t, "k8flex", "k8flex")
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sa, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// RBAC bindings reach the authorizer's cache asynchronously.
	apiservertest.WaitAuthorized(t, func() error {
		_, err := sa.CoreV1().Pods("").List(ctx, metav1.ListOptions{Limit: 1})
		return err
	})

	for _, gvr := range collectorReads {
		t.Run("read "+gvr.Resource, func(t *testing.T) {
			if _, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
				t.Errorf("list %s across namespaces: %v", gvr.Resource, err)
			}
			// A get of a missing object says 404 when allowed and 403 when not.
			var err error
			if namespaced(gvr.Resource) {
				_, err = dyn.Resource(gvr).Namespace("shop").Get(ctx, "does-not-exist", metav1.GetOptions{})
			} else {
				_, err = dyn.Resource(gvr).Get(ctx, "does-not-exist", metav1.GetOptions{})
			}
			if !apierrors.IsNotFound(err) {
				t.Errorf("get %s: err = %v, want not found", gvr.Resource, err)
			}
		})
	}
	t.Run("read pods/log", func(t *testing.T) {
		_, err := sa.CoreV1().Pods("shop").GetLogs("does-not-exist", &corev1.PodLogOptions{}).DoRaw(ctx)
		if !apierrors.IsNotFound(err) {
			t.Errorf("pods/log: err = %v, want not found", err)
		}
	})
	t.Run("metrics.k8s.io allowed", func(t *testing.T) {
		// No metrics-server runs here: ask the authorizer instead.
		for _, attr := range extraReads[1:] {
			for _, verb := range []string{"get", "list"} {
				attr.Verb = verb
				if !selfAllowed(ctx, t, sa, attr) {
					t.Errorf("%s %s/%s: denied", verb, attr.Group, attr.Resource)
				}
			}
		}
	})

	forbidden := []struct {
		name string
		call func() error
	}{
		{"list secrets", func() error { _, err := sa.CoreV1().Secrets("").List(ctx, metav1.ListOptions{}); return err }},
		{"get secret", func() error { _, err := sa.CoreV1().Secrets("shop").Get(ctx, "db", metav1.GetOptions{}); return err }},
		{"watch pods", func() error {
			w, err := sa.CoreV1().Pods("").Watch(ctx, metav1.ListOptions{})
			if err == nil {
				w.Stop()
			}
			return err
		}},
		{"create configmap", func() error {
			_, err := sa.CoreV1().ConfigMaps("shop").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
			return err
		}},
		{"delete namespace", func() error { return sa.CoreV1().Namespaces().Delete(ctx, "shop", metav1.DeleteOptions{}) }},
		{"patch node", func() error {
			_, err := sa.CoreV1().Nodes().Patch(ctx, "n", "application/merge-patch+json", []byte(`{}`), metav1.PatchOptions{})
			return err
		}},
		{"scale deployment", func() error {
			_, err := sa.AppsV1().Deployments("k8flex").Patch(ctx, "k8flex", "application/merge-patch+json", []byte(`{"spec":{"replicas":0}}`), metav1.PatchOptions{})
			return err
		}},
		{"exec into pod", func() error {
			return sa.CoreV1().RESTClient().Post().Namespace("shop").Resource("pods").Name("p").SubResource("exec").Do(ctx).Error()
		}},
	}
	for _, tt := range forbidden {
		t.Run("refused "+tt.name, func(t *testing.T) {
			if err := tt.call(); !apierrors.IsForbidden(err) {
				t.Errorf("err = %v, want forbidden", err)
			}
		})
	}
	t.Run("refused secrets by the authorizer", func(t *testing.T) {
		for _, verb := range []string{"get", "list", "watch"} {
			if selfAllowed(ctx, t, sa, authorizationv1.ResourceAttributes{Verb: verb, Resource: "secrets"}) {
				t.Errorf("%s secrets: allowed", verb)
			}
		}
	})
}

// TestAlertmanagerReceiverExample checks the receiver example with the real
// amtool, so the example is a configuration Alertmanager accepts.
func TestAlertmanagerReceiverExample(t *testing.T) {
	out, err := exec.Command(amtoolPath(t), "check-config", "examples/alertmanager-receiver.yaml").CombinedOutput()
	if err != nil {
		t.Fatalf("amtool check-config: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "1 receivers") {
		t.Errorf("amtool did not count one receiver:\n%s", out)
	}
}

func render(t *testing.T, kubectl, dir string) []*unstructured.Unstructured {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, _, err := apiservertest.RunKubectl(ctx, kubectl, nil, "kustomize", dir)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, out)
}

func decode(t *testing.T, multi []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(multi), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatalf("decode rendered manifests: %v", err)
		}
		if m != nil {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s rendered", kind, name)
	return nil
}

func deployment(t *testing.T, objs []*unstructured.Unstructured) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(find(t, objs, "Deployment", "k8flex").Object, &d, true); err != nil {
		t.Fatalf("deployment: %v", err)
	}
	return &d
}

func volume(d *appsv1.Deployment, name string) *corev1.Volume {
	for i, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == name {
			return &d.Spec.Template.Spec.Volumes[i]
		}
	}
	return nil
}

// checkHardened asserts the Deployment's security and resource settings.
func checkHardened(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec
	if pod.ServiceAccountName != "k8flex" {
		t.Errorf("serviceAccountName = %q, want k8flex", pod.ServiceAccountName)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Fatal("no container securityContext")
	case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
		t.Error("runAsNonRoot is not true")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("readOnlyRootFilesystem is not true")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("allowPrivilegeEscalation is not false")
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
		t.Errorf("capabilities = %+v, want drop [ALL] only", sc.Capabilities)
	case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Errorf("seccompProfile = %+v, want RuntimeDefault", sc.SeccompProfile)
	}
	if !slices.Equal(c.Args, []string{"serve"}) {
		t.Errorf("args = %v, want [serve]", c.Args)
	}
	for _, tt := range []struct {
		name string
		got  string
		want string
	}{
		{"requests.cpu", c.Resources.Requests.Cpu().String(), "100m"},
		{"requests.memory", c.Resources.Requests.Memory().String(), "128Mi"},
		{"limits.cpu", c.Resources.Limits.Cpu().String(), "500m"},
		{"limits.memory", c.Resources.Limits.Memory().String(), "512Mi"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %s, want %s", tt.name, tt.got, tt.want)
		}
	}
	probe := func(name string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe = %+v, want GET %s on port http", name, p, path)
		}
	}
	probe("liveness", c.LivenessProbe, "/health")
	probe("readiness", c.ReadinessProbe, "/ready")
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 8080 {
		t.Errorf("ports = %+v, want 8080", c.Ports)
	}
	var fromSecret bool
	for _, e := range c.EnvFrom {
		if e.SecretRef != nil && e.SecretRef.Name == "k8flex" {
			fromSecret = true
		}
	}
	if !fromSecret {
		t.Error("the container does not take its tokens from the Secret k8flex")
	}
}

func namespaced(resource string) bool {
	switch resource {
	case "nodes", "namespaces", "persistentvolumes", "storageclasses":
		return false
	}
	return true
}

// selfAllowed asks the API server whether the client's own identity may do attr.
func selfAllowed(ctx context.Context, t *testing.T, c kubernetes.Interface, attr authorizationv1.ResourceAttributes) bool {
	t.Helper()
	r, err := c.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &attr},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("self subject access review: %v", err)
	}
	return r.Status.Allowed
}

// amtoolPath returns the real amtool (K8FLEX_TEST_AMTOOL, else Debian's);
// missing, the test fails under CI (scripts/install-deps.sh, which .ci/run
// calls, installs it) and is skipped, saying so, elsewhere.
func amtoolPath(t *testing.T) string {
	t.Helper()
	amtool := os.Getenv("K8FLEX_TEST_AMTOOL")
	if amtool == "" {
		amtool = "/usr/bin/amtool"
	}
	if _, err := os.Stat(amtool); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("amtool missing (%v): scripts/install-deps.sh installs it", err)
		}
		t.Skipf("amtool missing (%v): run scripts/install-deps.sh", err)
	}
	return amtool
}
