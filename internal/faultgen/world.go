package faultgen

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// world is one scenario's cluster under construction: the objects in
// creation order, the container logs, and the random source every name and
// number is drawn from.
type world struct {
	r   *rand.Rand
	now time.Time // when the snapshot is taken; the alert fires a few minutes before
	// org is the fictional company: its domain, cluster and registry host.
	domain, cluster, registry string
	objs                      []runtime.Object
	logs                      map[string]string // ns/pod/container[.previous] → text
	rv                        int
	nodes                     []*corev1.Node
	leases                    []*coordinationv1.Lease
	names                     map[string]bool
	finals                    []func()
	dnsIP                     string
	coreDNS                   *app
	ingressPod                *corev1.Pod
	nsLabels                  map[string]map[string]string // extra labels of Namespace objects
}

var (
	companies = []string{"acme", "quillstone", "copperline", "northwind", "bluefern", "larkspur", "stonebridge", "tidewater", "ravenhill", "brightmoor"}
	tlds      = []string{"net", "io", "de", "co", "cloud"}
	regions   = []string{"eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-2"}
	nsPool    = []string{"payments", "checkout", "ledger", "catalog", "search", "billing", "shipping", "identity", "media",
		"reports", "inventory", "pricing", "notifications", "analytics", "orders", "quotes", "booking", "fleet", "loyalty", "claims"}
	nounPool = []string{"invoice", "ledger", "cart", "fare", "quote", "stock", "route", "member", "tile", "thumb", "report",
		"order", "payout", "rating", "coupon", "basket", "claim", "policy", "parcel", "voucher", "receipt", "tariff", "search", "profile"}
	rolePool = []string{"api", "worker", "gateway", "service", "renderer", "indexer", "sync", "processor", "frontend", "backend", "engine", "consumer"}
)

// newWorld starts an empty cluster for one scenario.
func newWorld(seed int64) *world {
	r := rand.New(rand.NewSource(seed))
	w := &world{r: r, logs: map[string]string{}, names: map[string]bool{}, nsLabels: map[string]map[string]string{}, rv: 40_000_000 + r.Intn(50_000_000)}
	company := pick(r, companies)
	w.domain = company + "." + pick(r, tlds)
	w.cluster = fmt.Sprintf("%s-%s-%s", pick(r, []string{"prod", "prd", "live", "main"}), pick(r, []string{"euw1", "use1", "euc1", "usw2", "apse2"}), pick(r, []string{"a", "b", "01", "02", "blue"}))
	w.registry = pick(r, []string{"registry.", "harbor.", "cr.", "images."}) + company + ".internal"
	w.now = time.Date(2026, time.Month(1+r.Intn(12)), 1+r.Intn(28), r.Intn(24), r.Intn(60), r.Intn(60), 0, time.UTC)
	w.dnsIP = "10.96.0.10"
	return w
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.Intn(len(xs))] }

// between returns a random duration in [lo, hi).
func (w *world) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(w.r.Int63n(int64(hi-lo)))
}

// ago returns the time d before the snapshot, at second precision.
func (w *world) ago(d time.Duration) metav1.Time {
	return metav1.NewTime(w.now.Add(-d).Truncate(time.Second))
}

func (w *world) uid() types.UID {
	const hex = "0123456789abcdef"
	b := make([]byte, 36)
	for i := range b {
		switch i {
		case 8, 13, 18, 23:
			b[i] = '-'
		case 14:
			b[i] = '4'
		default:
			b[i] = hex[w.r.Intn(16)]
		}
	}
	return types.UID(b)
}

func (w *world) resourceVersion() string {
	w.rv += 1 + w.r.Intn(4000)
	return fmt.Sprint(w.rv)
}

// alnum draws n characters of the alphabet Kubernetes uses for generated
// name suffixes and pod-template hashes (no vowels, no confusable digits).
func (w *world) alnum(n int) string {
	const a = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = a[w.r.Intn(len(a))]
	}
	return string(b)
}

func (w *world) hex(n int) string {
	const a = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = a[w.r.Intn(16)]
	}
	return string(b)
}

// name returns a fresh "<noun>-<role>" name not used before in this world.
func (w *world) name() string {
	for {
		n := pick(w.r, nounPool) + "-" + pick(w.r, rolePool)
		if !w.names[n] {
			w.names[n] = true
			return n
		}
	}
}

// namespace returns a fresh namespace name.
func (w *world) namespace() string {
	for {
		n := pick(w.r, nsPool)
		if w.r.Intn(4) == 0 {
			n += pick(w.r, []string{"-prod", "-live", "-v2"})
		}
		if !w.names["ns/"+n] {
			w.names["ns/"+n] = true
			return n
		}
	}
}

func (w *world) version() string {
	return fmt.Sprintf("%d.%d.%d", 1+w.r.Intn(5), w.r.Intn(20), w.r.Intn(12))
}

func (w *world) image(team, name, version string) string {
	return fmt.Sprintf("%s/%s/%s:%s", w.registry, team, name, version)
}

// meta fills an object's metadata as the API server would.
func (w *world) meta(ns, name string, labels map[string]string, created time.Duration) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels, UID: w.uid(),
		ResourceVersion: w.resourceVersion(), CreationTimestamp: w.ago(created)}
}

func (w *world) add(objs ...runtime.Object) {
	w.objs = append(w.objs, objs...)
}

// finally registers f to run before the world is serialised (statuses and
// endpoints derived from the pods as the faults left them).
func (w *world) finally(f func()) { w.finals = append(w.finals, f) }

// log sets the current (or previous) log of a container.
func (w *world) log(ns, pod, container string, previous bool, lines ...string) {
	k := ns + "/" + pod + "/" + container
	if previous {
		k += ".previous"
	}
	w.logs[k] = strings.Join(lines, "\n") + "\n"
}

// ts formats t the way log lines stamp it.
func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// ownerRef is the controller reference to an owner.
func ownerRef(apiVersion, kind string, m metav1.ObjectMeta) metav1.OwnerReference {
	t := true
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: m.Name, UID: m.UID, Controller: &t, BlockOwnerDeletion: &t}
}

func copyLabels(m map[string]string, extra ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		out[extra[i]] = extra[i+1]
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// selectorString renders labels as k=v,k=v.
func selectorString(m map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

func ptr[T any](v T) *T { return &v }

// password draws a credential to plant in a log line (the redaction check:
// expect.yaml lists it under must_not_contain).
func (w *world) password() string {
	const a = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
	b := make([]byte, 20)
	for i := range b {
		b[i] = a[w.r.Intn(len(a))]
	}
	return string(b)
}
