package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/redact"
)

// App Home action and view ids.
const (
	actionHomeCategory = "k8flex_home_category"
	actionHomeSearch   = "k8flex_home_search"
	actionHomePage     = "k8flex_home_page"
	actionHomeNext     = "k8flex_home_next"
	actionHomeClear    = "k8flex_home_clear"
	callbackSearch     = "k8flex_search"
	blockSearchInput   = "k8flex_search_input"
	actionSearchInput  = "query"
)

// homeState is the knowledge browser's filter and page, kept in the
// view's private_metadata.
type homeState struct {
	Category string `json:"c,omitempty"`
	Query    string `json:"q,omitempty"`
	Offset   int    `json:"o,omitempty"`
}

// parseHomeState reads the state back from private_metadata, which
// arrives from Slack: its texts are redacted and unspoofed like any input.
func parseHomeState(meta string) homeState {
	var s homeState
	_ = json.Unmarshal([]byte(meta), &s)
	if s.Offset < 0 {
		s.Offset = 0
	}
	s.Category, s.Query = Unspoof(redact.String(s.Category)), Unspoof(redact.String(s.Query))
	return s
}

func homeStateFromAction(meta string, a *slack.BlockAction) homeState {
	s := parseHomeState(meta)
	switch a.ActionID {
	case actionHomeCategory:
		s.Category = a.SelectedOption.Value
		if s.Category == "all" {
			s.Category = ""
		}
		s.Offset = 0
	case actionHomePage, actionHomeNext:
		if n, err := strconv.Atoi(a.Value); err == nil && n >= 0 {
			s.Offset = n
		}
	case actionHomeClear:
		s = homeState{}
	}
	return s
}

func homeStateFromSearch(v slack.View) homeState {
	s := parseHomeState(v.PrivateMetadata)
	if v.State != nil {
		// Redacted at once: the query is searched, echoed in the view and
		// kept in its private_metadata.
		s.Query = strings.TrimSpace(Unspoof(redact.String(v.State.Values[blockSearchInput][actionSearchInput].Value)))
	}
	s.Offset = 0
	return s
}

// publishHome renders the knowledge browser into user's App Home.
func (b *Bot) publishHome(ctx context.Context, user string, s homeState) {
	if user == "" {
		return
	}
	blocks := b.homeBlocks(ctx, s)
	meta, _ := json.Marshal(s)
	view := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}, PrivateMetadata: string(meta)}
	if _, err := b.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: user, View: view}); err != nil {
		b.log.Warn().Err(err).Str("user", user).Msg("publish app home")
	}
}

func (b *Bot) homeBlocks(ctx context.Context, s homeState) []slack.Block {
	blocks := []slack.Block{slack.NewHeaderBlock(plain("📚 K8flex knowledge base"))}
	kb := b.deps.Knowledge
	if kb == nil {
		return append(blocks, section("The knowledge base is not enabled on this K8flex.\n\n"+helpText))
	}
	st, err := kb.Stats(ctx)
	if err != nil {
		b.log.Error().Err(err).Msg("knowledge base stats")
		return append(blocks, section("⚠️ The knowledge base could not be read right now. Reopen this tab to retry."))
	}
	blocks = append(blocks, statsBlocks(st)...)
	blocks = append(blocks, slack.NewDividerBlock(), b.filterBlock(s))
	size := b.cfg.HomePageSize
	if size <= 0 || size > 20 {
		size = 10
	}
	q := CaseQuery{Category: investigate.Category(s.Category), Text: s.Query, Offset: s.Offset, Limit: size}
	page, err := kb.Cases(ctx, q)
	if err != nil {
		b.log.Error().Err(err).Msg("list knowledge base cases")
		return append(blocks, section("⚠️ The cases could not be listed right now."))
	}
	var filter []string
	if s.Category != "" {
		filter = append(filter, "category *"+Safe(s.Category)+"*")
	}
	if s.Query != "" {
		filter = append(filter, "similar to “"+Safe(truncate(s.Query, 100))+"”")
	}
	head := fmt.Sprintf("*Validated cases* — %d", page.Total)
	if len(filter) > 0 {
		head += " · " + strings.Join(filter, ", ")
	}
	if page.Total > 0 {
		head += fmt.Sprintf(" · showing %d–%d", s.Offset+1, s.Offset+len(page.Cases))
	}
	blocks = append(blocks, section(head))
	if len(page.Cases) == 0 {
		blocks = append(blocks, section("_No validated cases match. Confirm analyses with ✅ in their threads to build the knowledge base._"))
	}
	for _, c := range page.Cases {
		blocks = append(blocks, caseBlock(c))
	}
	var nav []slack.BlockElement
	if s.Offset > 0 {
		nav = append(nav, slack.NewButtonBlockElement(actionHomePage, strconv.Itoa(max(0, s.Offset-size)), plain("◀ Previous")))
	}
	if s.Offset+len(page.Cases) < page.Total {
		nav = append(nav, slack.NewButtonBlockElement(actionHomeNext, strconv.Itoa(s.Offset+size), plain("Next ▶")))
	}
	if len(nav) > 0 {
		blocks = append(blocks, slack.NewActionBlock("k8flex_home_nav", nav...))
	}
	return fitBlocks(blocks, MaxHomeViewBlocks)
}

// filterBlock is the category select, search and clear buttons.
func (b *Bot) filterBlock(s homeState) slack.Block {
	all := slack.NewOptionBlockObject("all", plain("All categories"), nil)
	opts := []*slack.OptionBlockObject{all}
	initial := all
	for _, c := range investigate.Categories() {
		o := slack.NewOptionBlockObject(string(c), plain(string(c)), nil)
		opts = append(opts, o)
		if string(c) == s.Category {
			initial = o
		}
	}
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Category"), actionHomeCategory, opts...)
	sel.InitialOption = initial
	search := slack.NewButtonBlockElement(actionHomeSearch, "search", plain("🔎 Search"))
	els := []slack.BlockElement{sel, search}
	if s.Category != "" || s.Query != "" || s.Offset > 0 {
		els = append(els, slack.NewButtonBlockElement(actionHomeClear, "clear", plain("Clear filters")))
	}
	return slack.NewActionBlock("k8flex_home_filters", els...)
}

// caseBlock renders one validated case: alert, category, namespace,
// date, root cause, link to its thread.
func caseBlock(c CaseSummary) slack.Block {
	name := c.AlertName
	if name == "" {
		name = c.ID
	}
	var meta []string
	meta = append(meta, "`"+Safe(string(c.Category))+"`")
	if c.Namespace != "" {
		meta = append(meta, "ns "+Safe(c.Namespace))
	}
	if c.Target != "" {
		meta = append(meta, Safe(c.Target))
	}
	if !c.CreatedAt.IsZero() {
		meta = append(meta, c.CreatedAt.UTC().Format("2006-01-02"))
	}
	text := "*" + Link(c.ThreadURL, name) + "*  " + strings.Join(meta, " · ")
	if c.RootCause != "" {
		text += "\n" + Safe(truncate(c.RootCause, 500))
	}
	return section(text)
}

// statsBlocks renders totals and accuracy, overall and by category.
func statsBlocks(st KnowledgeStats) []slack.Block {
	acc := func(v, r int) string {
		if a, ok := Accuracy(v, r); ok {
			return fmt.Sprintf("%.0f%%", a*100)
		}
		return "n/a"
	}
	overall := fmt.Sprintf("*%d* investigations · *%d* confirmed ✅ · *%d* rejected ❌ · accuracy *%s*",
		st.Cases, st.Validated, st.Rejected, acc(st.Validated, st.Rejected))
	cats := slices.Clone(st.ByCategory)
	slices.SortFunc(cats, func(a, b CategoryStats) int { return strings.Compare(string(a.Category), string(b.Category)) })
	var lines []string
	for _, c := range cats {
		lines = append(lines, fmt.Sprintf("`%s` %s (%d ✅ / %d ❌ of %d)", Safe(string(c.Category)), acc(c.Validated, c.Rejected), c.Validated, c.Rejected, c.Cases))
	}
	blocks := []slack.Block{section(overall)}
	if len(lines) > 0 {
		blocks = append(blocks, section("*Accuracy by category*\n"+strings.Join(lines, "\n")))
	}
	return blocks
}

// openSearch opens the search modal; its submission filters the Home.
func (b *Bot) openSearch(ctx context.Context, triggerID, meta string) {
	s := parseHomeState(meta)
	input := slack.NewPlainTextInputBlockElement(plain("e.g. OOMKilled after deploy"), actionSearchInput)
	input.InitialValue = s.Query
	view := slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      callbackSearch,
		Title:           plain("Search cases"),
		Submit:          plain("Search"),
		Close:           plain("Cancel"),
		PrivateMetadata: meta,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock(blockSearchInput, plain("Describe the incident"), nil, input),
		}},
	}
	if _, err := b.api.OpenViewContext(ctx, triggerID, view); err != nil {
		b.log.Warn().Err(err).Msg("open search modal")
	}
}
