package learn

import (
	"context"
	"fmt"
	"time"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/kb"
)

// Query asks the knowledge browser for a page of validated cases.
type Query struct {
	// Category filters by category when set.
	Category investigate.Category
	// Text, when set, asks for the cases most similar to it.
	Text   string
	Offset int
	Limit  int
}

// Summary is one validated case as the knowledge browser lists it.
type Summary struct {
	ID        string
	AlertName string
	Category  investigate.Category
	Namespace string
	Target    string
	RootCause string
	ThreadURL string
	CreatedAt time.Time
}

// Page is one page of a Query's result; Total counts all matches.
type Page struct {
	Cases []Summary
	Total int
}

// Stats are the knowledge base's verdict counts over every case.
func (l *Loop) Stats(ctx context.Context) (kb.Stats, error) {
	s, err := l.st.Stats(ctx, time.Time{})
	if err != nil {
		return kb.Stats{}, fmt.Errorf("knowledge base statistics: %w", err)
	}
	return s, nil
}

// Cases returns a page of validated cases: those most similar to q.Text,
// or the latest of q.Category.
func (l *Loop) Cases(ctx context.Context, q Query) (Page, error) {
	if q.Text != "" {
		return l.similar(ctx, q)
	}
	yes := true
	cases, err := l.st.ListCases(ctx, kb.Filter{Category: q.Category, Validated: &yes, Limit: q.Limit, Offset: q.Offset})
	if err != nil {
		return Page{}, fmt.Errorf("list validated cases: %w", err)
	}
	// A case is validated exactly when its verdict is correct, so the
	// statistics count the pages without listing every case.
	s, err := l.Stats(ctx)
	if err != nil {
		return Page{}, err
	}
	page := Page{Total: s.Overall.Correct}
	if q.Category != "" {
		page.Total = s.ByCategory[q.Category].Correct
	}
	for _, c := range cases {
		page.Cases = append(page.Cases, Summary{ID: c.ID, AlertName: c.AlertName, Category: c.Category,
			Namespace: c.Namespace, Target: c.Target, RootCause: c.RootCause,
			ThreadURL: kb.ThreadLink("", c.Channel, c.ThreadTS), CreatedAt: c.CreatedAt})
	}
	return page, nil
}

// similar pages through the validated cases most similar to q.Text.
func (l *Loop) similar(ctx context.Context, q Query) (Page, error) {
	vec, err := l.embed(ctx, q.Text)
	if err != nil {
		return Page{}, fmt.Errorf("embed query: %w", err)
	}
	// A short query is less similar to an alert than two alerts are to
	// each other: search below the recall threshold.
	sim, err := l.st.FindSimilar(ctx, vec, l.threshold/2, q.Offset+q.Limit)
	if err != nil {
		return Page{}, fmt.Errorf("search similar cases: %w", err)
	}
	page := Page{Total: len(sim)}
	for i, c := range sim {
		if i >= q.Offset && (q.Category == "" || c.Category == q.Category) {
			page.Cases = append(page.Cases, Summary{ID: c.ID, AlertName: c.AlertName, Category: c.Category,
				Namespace: c.Namespace, Target: c.Target, RootCause: c.RootCause, ThreadURL: c.ThreadURL, CreatedAt: c.CreatedAt})
		}
	}
	return page, nil
}
