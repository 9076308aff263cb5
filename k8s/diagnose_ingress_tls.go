package k8s

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/k8flex/k8flex/investigate"
)

// reSecretMissing matches what ingress controllers and the API say about a
// Secret they cannot find ("local SSL certificate ns/x was not found",
// "secret ns/x does not exist", "secrets \"x\" not found").
var reSecretMissing = regexp.MustCompile(`(?i)not found|does not exist|doesn't exist|no such|could not find|couldn't find|cannot find|missing|failed to (?:load|get|fetch|read)|error getting ssl certificate`)

// diagnoseIngressTLS reports Ingresses whose spec.tls names a Secret that
// does not exist in the Ingress's namespace, as the snapshot's missing
// references, the Ingress's events or the ingress controller's log show
// it: the controller then serves the TLS hosts with its default
// (self-signed) certificate or not at all, and clients that verify the
// certificate fail. Secrets are never read: existence comes from those
// reports.
func diagnoseIngressTLS(d *diag) []investigate.Finding {
	var out []investigate.Finding
	for i := range d.s.Ingresses {
		ing := &d.s.Ingresses[i]
		ref := ing.Namespace + "/" + ing.Name
		for _, t := range ing.Spec.TLS {
			if t.SecretName == "" {
				continue
			}
			full := ing.Namespace + "/" + t.SecretName
			var proof []string
			if d.missingRef("secret", ing.Namespace, t.SecretName) {
				proof = append(proof, "secret/"+full+" does not exist")
			}
			for _, e := range d.events[objKey{"Ingress", ing.Namespace, ing.Name}] {
				if strings.Contains(e.Message, t.SecretName) && reSecretMissing.MatchString(e.Message) {
					proof = appendUnique(proof, evProof(e))
				}
			}
			said := ""
			for _, l := range d.s.Logs {
				for _, line := range l.Lines {
					if (strings.Contains(line, full) || strings.Contains(line, `"`+t.SecretName+`"`)) && reSecretMissing.MatchString(line) {
						said = jsonErrorText(line)
					}
				}
				if said != "" {
					proof = appendUnique(proof, l.Pod+": "+clip(said, 300))
					break
				}
			}
			if len(proof) == 0 {
				continue
			}
			hosts := "its TLS hosts"
			if len(t.Hosts) > 0 {
				hosts = strings.Join(t.Hosts, ", ")
			}
			sum := fmt.Sprintf("Ingress %s's spec.tls names Secret %s for %s, but Secret %s does not exist in namespace %s", ref, t.SecretName, hosts, t.SecretName, ing.Namespace)
			if said != "" {
				sum += fmt.Sprintf(" (the ingress controller logs: %s)", clip(said, 250))
			}
			sum += ": the ingress controller serves these hosts with its default, self-signed certificate (or none), so every client that verifies the certificate fails the TLS handshake while plain HTTP routing still works"
			out = append(out, investigate.Finding{
				Rule: "ingress-tls-secret", Severity: investigate.FindingCritical, Score: scoreCause + 5,
				Summary: sum + ".", Objects: []string{"ingress/" + ref, "secret/" + full}, Proof: proof,
				Actions: []string{
					fmt.Sprintf("kubectl get secrets -n %s --field-selector type=kubernetes.io/tls   # is the certificate there under another name?", ing.Namespace),
					fmt.Sprintf("Point spec.tls[].secretName of Ingress %s at the existing TLS Secret, or recreate Secret %s (cert-manager: check the Certificate that should write it).", ref, t.SecretName),
				},
				Impact:     fmt.Sprintf("HTTPS clients of %s get a certificate that does not match or is not trusted.", hosts),
				Prevention: "Render the Ingress's secretName and the TLS Secret from one value (or let cert-manager own the Secret), and probe the certificate's issuer and expiry, not only the status code.",
			})
		}
	}
	return out
}
