package apiservertest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// undeletable are the namespaces the API server refuses to delete.
var undeletable = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// Unload removes what Load (or LoadScenario) created, so that the next load
// starts from the server as Start left it: every object in res.Objects, last
// created first, at once (no grace period, finalizers cleared: no
// controller or kubelet runs to honour them), every event in their
// namespaces (the server's own reports on the loaded objects included),
// then the namespaces Load created, with the ServiceAccounts and
// ConfigMaps in them. It also forgets the logs set on the fake
// kubelet. It fails tb on error.
func (s *Server) Unload(tb testing.TB, res LoadResult) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.unload(ctx, res); err != nil {
		tb.Fatalf("unload objects: %v", err)
	}
	s.Kubelet.reset()
}

func (s *Server) unload(ctx context.Context, res LoadResult) error {
	dyn, err := dynamic.NewForConfig(s.Config)
	if err != nil {
		return fmt.Errorf("dynamic client: %w", err)
	}
	c, err := kubernetes.NewForConfig(s.Config)
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	namespaces := slices.Clone(res.Namespaces)
	for _, o := range slices.Backward(res.Objects) {
		if o.Resource.Group == "" && o.Resource.Resource == "namespaces" {
			namespaces = append(namespaces, o.Name)
			continue
		}
		var ri dynamic.ResourceInterface = dyn.Resource(o.Resource)
		if o.Namespace != "" {
			ri = dyn.Resource(o.Resource).Namespace(o.Namespace)
		}
		if err := forceDelete(ctx, ri, o.Name); err != nil {
			return fmt.Errorf("delete %s %s/%s: %w", o.Resource.Resource, o.Namespace, o.Name, err)
		}
	}
	// The server reports on what was loaded (ClusterIP repairs, ...):
	// those events are the load's too.
	touched := map[string]bool{}
	for _, o := range res.Objects {
		if o.Namespace != "" {
			touched[o.Namespace] = true
		}
	}
	events := corev1.SchemeGroupVersion.WithResource("events")
	for ns := range touched {
		if err := dyn.Resource(events).Namespace(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			return fmt.Errorf("delete events in %s: %w", ns, err)
		}
	}
	for _, ns := range namespaces {
		if slices.Contains(undeletable, ns) {
			continue
		}
		if err := deleteNamespace(ctx, c, dyn, ns); err != nil {
			return err
		}
	}
	return nil
}

// forceDelete deletes the named object at once, clearing its finalizers
// first. An object already gone is not an error.
func forceDelete(ctx context.Context, ri dynamic.ResourceInterface, name string) error {
	cur, err := ri.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(cur.GetFinalizers()) > 0 {
		_, err := ri.Patch(ctx, name, types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("clear finalizers: %w", err)
		}
	}
	zero := int64(0)
	background := metav1.DeletePropagationBackground
	err = ri.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero, PropagationPolicy: &background})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// deleteNamespace deletes namespace ns and what CreateNamespace put in it.
// No namespace controller runs: the contents are deleted here, and the
// namespace's "kubernetes" finalizer is removed through the finalize
// subresource, which lets the server remove it.
func deleteNamespace(ctx context.Context, c kubernetes.Interface, dyn dynamic.Interface, ns string) error {
	for _, r := range []string{"serviceaccounts", "configmaps"} {
		ri := dyn.Resource(corev1.SchemeGroupVersion.WithResource(r)).Namespace(ns)
		list, err := ri.List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("list %s in %s: %w", r, ns, err)
		}
		for _, o := range list.Items {
			if err := forceDelete(ctx, ri, o.GetName()); err != nil {
				return fmt.Errorf("delete %s %s/%s: %w", r, ns, o.GetName(), err)
			}
		}
	}
	if err := c.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("delete namespace %s: %w", ns, err)
	}
	cur, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get namespace %s: %w", ns, err)
	}
	cur.Spec.Finalizers = nil
	if _, err := c.CoreV1().Namespaces().Finalize(ctx, cur, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("finalize namespace %s: %w", ns, err)
	}
	return nil
}
