package k8s

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// A runtime's own failed lookup of an environment variable (Python's
// os.environ[...] KeyError, Ruby's ENV.fetch KeyError) is a missing
// variable; a KeyError of an ordinary dictionary is not.
func TestDiagnoseMissingEnvLookups(t *testing.T) {
	logged := func(ns, pod string, lines ...string) []ContainerLog {
		return []ContainerLog{{Namespace: ns, Pod: pod, Container: "app", Previous: true, Lines: lines}}
	}
	runRuleCases(t, []string{"app-missing-env"}, []ruleCase{
		{name: "Python os.environ lookup in a StatefulSet pod", rule: "app-missing-env",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("ledger", "posting-0", crashLooping(6), controlledBy("StatefulSet", "posting"))},
					Logs: logged("ledger", "posting-0", "Traceback (most recent call last):", `  File "/srv/config.py", line 8, in <module>`,
						`    BROKER = os.environ['POSTING_BROKER_URL']`, `  File "/usr/lib/python3.11/os.py", line 679, in __getitem__`, "KeyError: 'POSTING_BROKER_URL'")}
			},
			summary: []string{"Environment variable POSTING_BROKER_URL is not set in container app"}},
		{name: "Ruby ENV.fetch in a Deployment pod", rule: "app-missing-env",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("web", "storefront-6c8d9f7b5-x2k9p", crashLooping(3), ownedByRS("storefront-6c8d9f7b5"))},
					Logs: logged("web", "storefront-6c8d9f7b5-x2k9p", `/app/config/initializers/redis.rb:3:in 'fetch': key not found: "REDIS_URL" (KeyError)`)}
			},
			summary: []string{"Environment variable REDIS_URL"}},
	})
	s := &Snapshot{Pods: []corev1.Pod{*newPod("ledger", "posting-0", crashLooping(6))},
		Logs: logged("ledger", "posting-0", "Traceback (most recent call last):", `    total = row['AMOUNT_EUR']`, "KeyError: 'AMOUNT_EUR'")}
	for _, f := range s.Diagnose() {
		if f.Rule == "app-missing-env" || strings.Contains(f.Summary, "Environment variable") {
			t.Errorf("a dictionary KeyError read as a missing variable: %s", f.Summary)
		}
	}
}
