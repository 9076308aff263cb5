package investigate

import "time"

// Section is one titled block of evidence text, as it is shown to a model
// and to people (e.g. "Pod shop/web-0 description", "Logs web-0/app
// (previous)"). Body is already redacted and within its size budget.
type Section struct {
	// Name is a stable identifier of the collector and object, e.g. "pod/describe".
	Name  string `json:"name"`
	Title string `json:"title"`
	// Priority orders sections when the prompt budget forces trimming:
	// lower numbers are kept first (0 = most important).
	Priority int    `json:"priority"`
	Body     string `json:"body"`
	// Truncated is true when Body was cut to fit its budget.
	Truncated bool `json:"truncated,omitempty"`
}

// Gap records a collector that could not deliver its evidence (RBAC 403,
// timeout, object gone). Gaps are reported; they never fail an investigation.
type Gap struct {
	Collector string `json:"collector"`
	Reason    string `json:"reason"`
}

// Evidence is everything gathered for one investigation.
type Evidence struct {
	// Target is the target as resolved by the gatherer (e.g. a deployment
	// alert resolved to its unhealthy pod, an instance IP to its node).
	Target   Target    `json:"target"`
	Sections []Section `json:"sections"`
	Gaps     []Gap     `json:"gaps,omitempty"`
	// APIRequests counts the Kubernetes API requests made to gather it.
	APIRequests int `json:"api_requests"`
	// TargetGone is true when the alert's target no longer exists.
	TargetGone bool `json:"target_gone,omitempty"`
}

// Size returns the total number of bytes in the evidence's section bodies.
func (e Evidence) Size() int {
	n := 0
	for _, s := range e.Sections {
		n += len(s.Body)
	}
	return n
}

// FindingSeverity ranks findings.
type FindingSeverity string

// Finding severities.
const (
	FindingCritical FindingSeverity = "critical"
	FindingWarning  FindingSeverity = "warning"
	FindingInfo     FindingSeverity = "info"
)

// Finding is one deterministic conclusion drawn from the evidence, with the
// objects and the lines that prove it.
type Finding struct {
	// Rule is the stable identifier of the diagnosis rule, e.g. "crashloop".
	Rule     string          `json:"rule"`
	Severity FindingSeverity `json:"severity"`
	// Score orders findings as root-cause candidates: the highest-scored
	// finding is the most likely root cause; symptoms score lower than the
	// causes that explain them.
	Score int `json:"score"`
	// Summary is one plain sentence naming the objects involved, e.g.
	// `ConfigMap shop/app-settings mounted by pod web-0 does not exist`.
	Summary string `json:"summary"`
	// Detail explains the mechanism in a few sentences (optional).
	Detail string `json:"detail,omitempty"`
	// Objects are the objects involved, kubectl-style ("pod/shop/web-0").
	Objects []string `json:"objects,omitempty"`
	// Proof holds the evidence lines (log lines, event messages, status
	// fields) that prove the finding, verbatim and redacted.
	Proof []string `json:"proof,omitempty"`
	// Actions are concrete next steps (commands or changes).
	Actions []string `json:"actions,omitempty"`
	// Prevention is how to keep it from happening again (optional).
	Prevention string `json:"prevention,omitempty"`
	// Impact describes who or what is affected (optional).
	Impact string `json:"impact,omitempty"`
	// Category is the alert category this finding is evidence of, when it
	// implies one (a NetworkPolicy that blocks the traffic implies
	// network-policy). The engine uses it to correct a category the rules
	// were unsure about; empty when the finding implies none.
	Category Category `json:"category,omitempty"`
}

// SimilarCase is a validated past case recalled from the knowledge base.
type SimilarCase struct {
	ID         string    `json:"id"`
	AlertName  string    `json:"alert_name"`
	Category   Category  `json:"category"`
	Namespace  string    `json:"namespace,omitempty"`
	Target     string    `json:"target,omitempty"`
	Similarity float64   `json:"similarity"`
	RootCause  string    `json:"root_cause"`
	Analysis   string    `json:"analysis,omitempty"`
	ThreadURL  string    `json:"thread_url,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// PastFeedback is a human verdict on an earlier analysis of a similar alert.
type PastFeedback struct {
	AlertName string    `json:"alert_name"`
	Category  Category  `json:"category"`
	Correct   bool      `json:"correct"`
	RootCause string    `json:"root_cause"`
	At        time.Time `json:"at"`
}
