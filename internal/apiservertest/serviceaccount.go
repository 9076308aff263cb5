package apiservertest

import (
	"context"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// ServiceAccountConfig returns a client configuration that authenticates as
// ServiceAccount namespace/name with a token from the TokenRequest API (the
// way a pod's projected token is made), so requests are authorised by RBAC
// exactly as they would be in a cluster. The ServiceAccount is created when
// it does not exist; the namespace must exist. It has no other rights than
// those bound to it (see BindClusterRole, or apply the manifests).
func (s *Server) ServiceAccountConfig(tb testing.TB, namespace, name string) *rest.Config {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := s.Client(tb)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
	if _, err := c.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		tb.Fatalf("create serviceaccount %s/%s: %v", namespace, name, err)
	}
	expiry := int64(3600)
	tr, err := c.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		tb.Fatalf("request token for serviceaccount %s/%s: %v", namespace, name, err)
	}
	return &rest.Config{
		Host:            s.Config.Host,
		BearerToken:     tr.Status.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: s.Config.CAData},
		QPS:             s.Config.QPS,
		Burst:           s.Config.Burst,
		WarningHandler:  rest.NoWarnings{},
	}
}

// ServiceAccountClient is ServiceAccountConfig as a clientset.
func (s *Server) ServiceAccountClient(tb testing.TB, namespace, name string) kubernetes.Interface {
	tb.Helper()
	c, err := kubernetes.NewForConfig(s.ServiceAccountConfig(tb, namespace, name))
	if err != nil {
		tb.Fatalf("serviceaccount client: %v", err)
	}
	return c
}

// BindClusterRole creates ClusterRole role with rules (replacing nothing: the
// name must be new) and binds it to ServiceAccount namespace/name.
func (s *Server) BindClusterRole(tb testing.TB, namespace, name, role string, rules ...rbacv1.PolicyRule) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := s.Client(tb)
	if _, err := c.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: role},
		Rules:      rules,
	}, metav1.CreateOptions{}); err != nil {
		tb.Fatalf("create clusterrole %s: %v", role, err)
	}
	if _, err := c.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role + "-" + namespace + "-" + name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: name}},
	}, metav1.CreateOptions{}); err != nil {
		tb.Fatalf("bind clusterrole %s to %s/%s: %v", role, namespace, name, err)
	}
}

// ApplyKustomization renders the kustomization in dir with the server's
// kubectl and applies it (server-side apply, for real), failing tb on error.
// Use it to install the project's manifests, RBAC included.
func (s *Server) ApplyKustomization(tb testing.TB, dir string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rendered, _, err := RunKubectl(ctx, s.Binaries.Kubectl, nil, "kustomize", dir)
	if err != nil {
		tb.Fatal(err)
	}
	if _, _, err := s.Kubectl(ctx, rendered, "apply", "--server-side", "--field-manager=k8flex-test", "-f", "-"); err != nil {
		tb.Fatal(err)
	}
}

// WaitAuthorized polls call until it stops failing as forbidden (RBAC
// bindings reach the authorizer's cache moments after they are written),
// failing tb when it still fails after 15 seconds or fails otherwise.
func WaitAuthorized(tb testing.TB, call func() error) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := call()
		if err == nil {
			return
		}
		if !apierrors.IsForbidden(err) || time.Now().After(deadline) {
			tb.Fatalf("not authorized: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
