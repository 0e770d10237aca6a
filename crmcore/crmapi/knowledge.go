package crmapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"switchboard/crmcore"
)

// KnowledgeStore keeps the knowledge base's articles and their uses.
type KnowledgeStore interface {
	CreateArticle(ctx context.Context, a crmcore.Article) (crmcore.Article, error)
	GetArticle(ctx context.Context, id string) (crmcore.Article, error)
	UpdateArticle(ctx context.Context, id string, a crmcore.Article) (crmcore.Article, error)
	DeleteArticle(ctx context.Context, id string) error
	ListArticles(ctx context.Context, category string, audience crmcore.Visibility, limit int) ([]crmcore.ArticleHit, error)
	KnowledgeCategories(ctx context.Context) ([]string, error)
	SearchArticles(ctx context.Context, query, lang string, audience crmcore.Visibility, limit int) ([]crmcore.ArticleHit, error)
	SuggestArticles(ctx context.Context, terms, lang string, limit int) ([]crmcore.ArticleHit, error)
	RecordArticleUse(ctx context.Context, u crmcore.ArticleUse) error
	ArticleUses(ctx context.Context, articleID string, limit int) ([]crmcore.ArticleUse, error)
}

// knowledge is the knowledge base's part of the handler.
type knowledge struct {
	store  KnowledgeStore
	render *crmcore.Renderer
	public *crmcore.AddrLimiter // the unauthenticated endpoints' budget per client
}

// Public knowledge search budget per client address: a burst, then a
// steady rate, enough for a person typing in the chat widget and too
// little to crawl the knowledge base.
const (
	publicSearchRate  = 1.0 // per second
	publicSearchBurst = 20
	maxPublicQuery    = 100 // bytes
	maxPublicResults  = 10
)

// WithKnowledge serves the knowledge base from store (without it those
// endpoints answer 404): articles for agents, written by supervisors and
// admins, and a read-only search of the public articles for the chat
// widget, limited per client address.
func WithKnowledge(store KnowledgeStore) Option {
	return func(h *Handler) {
		h.kb = &knowledge{store: store, render: crmcore.NewRenderer(), public: crmcore.NewAddrLimiter(publicSearchRate, publicSearchBurst)}
	}
}

func (h *Handler) routeKnowledge() {
	m := h.mux
	m.HandleFunc("GET /api/v1/knowledge/articles", h.authed(0, h.withKB(h.listArticles)))
	m.HandleFunc("POST /api/v1/knowledge/articles", h.authed(crmcore.PermManageKnowledge, h.withKB(h.createArticle)))
	m.HandleFunc("GET /api/v1/knowledge/articles/{id}", h.authed(0, h.withKB(h.getArticle)))
	m.HandleFunc("PUT /api/v1/knowledge/articles/{id}", h.authed(crmcore.PermManageKnowledge, h.withKB(h.updateArticle)))
	m.HandleFunc("DELETE /api/v1/knowledge/articles/{id}", h.authed(crmcore.PermManageKnowledge, h.withKB(h.deleteArticle)))
	m.HandleFunc("POST /api/v1/knowledge/articles/{id}/uses", h.authed(0, h.withKB(h.recordArticleUse)))
	m.HandleFunc("GET /api/v1/knowledge/articles/{id}/uses", h.authed(crmcore.PermManageKnowledge, h.withKB(h.articleUses)))
	m.HandleFunc("GET /api/v1/knowledge/categories", h.authed(0, h.withKB(h.knowledgeCategories)))
	m.HandleFunc("GET /api/v1/knowledge/search", h.authed(0, h.withKB(h.searchArticles)))
	m.HandleFunc("GET /api/v1/knowledge/suggest", h.authed(0, h.withKB(h.suggestArticles)))
	m.HandleFunc("GET /api/v1/public/knowledge/search", h.publicKB(h.publicSearch))
	m.HandleFunc("GET /api/v1/public/knowledge/articles/{id}", h.publicKB(h.publicArticle))
}

// withKB answers 404 when the handler has no knowledge base.
func (h *Handler) withKB(fn func(http.ResponseWriter, *http.Request, crmcore.Principal)) func(http.ResponseWriter, *http.Request, crmcore.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
		if h.kb == nil {
			h.fail(w, r, crmcore.ErrNotFound)
			return
		}
		fn(w, r, p)
	}
}

// articleWithHTML is an article with its body rendered to sanitized HTML.
type articleWithHTML struct {
	crmcore.Article
	HTML string `json:"html"`
}

func (h *Handler) listArticles(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	q := r.URL.Query()
	limit, err := searchLimit(q.Get("limit"), 50)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cat := strings.ToLower(strings.TrimSpace(q.Get("category")))
	if len(cat) > crmcore.MaxCategoryLen || !plainLine(cat) {
		h.fail(w, r, bad("category", "at most "+strconv.Itoa(crmcore.MaxCategoryLen)+" bytes of text"))
		return
	}
	hs, err := h.kb.store.ListArticles(r.Context(), cat, crmcore.VisibilityAgents, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.ArticleHit]{Items: hs, Count: len(hs)})
}

func (h *Handler) createArticle(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	var in crmcore.ArticleInput
	if err := h.decodeJSON(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := crmcore.NewArticle(in, p.AgentID, h.now())
	if err == nil {
		a, err = h.kb.store.CreateArticle(r.Context(), a)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("crmapi: article created", "article_id", a.ID, "by", p.Login)
	w.Header().Set("Location", "/api/v1/knowledge/articles/"+a.ID)
	writeJSON(w, http.StatusCreated, articleWithHTML{Article: a, HTML: h.kb.render.Render(a.BodyMarkdown)})
}

func (h *Handler) getArticle(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	a, err := h.kb.store.GetArticle(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, articleWithHTML{Article: a, HTML: h.kb.render.Render(a.BodyMarkdown)})
}

func (h *Handler) updateArticle(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	var in crmcore.ArticleInput
	if err := h.decodeJSON(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := crmcore.NewArticle(in, p.AgentID, h.now())
	if err == nil {
		a, err = h.kb.store.UpdateArticle(r.Context(), r.PathValue("id"), a)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("crmapi: article updated", "article_id", a.ID, "by", p.Login)
	writeJSON(w, http.StatusOK, articleWithHTML{Article: a, HTML: h.kb.render.Render(a.BodyMarkdown)})
}

func (h *Handler) deleteArticle(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	if err := h.kb.store.DeleteArticle(r.Context(), r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("crmapi: article deleted", "article_id", r.PathValue("id"), "by", p.Login)
	w.WriteHeader(http.StatusNoContent)
}

// articleUseRequest is the body of POST …/articles/{id}/uses.
type articleUseRequest struct {
	Kind          crmcore.ArticleUseKind `json:"kind"`
	TicketNumber  int64                  `json:"ticket_number"`
	InteractionID string                 `json:"interaction_id"`
}

func (h *Handler) recordArticleUse(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	var req articleUseRequest
	if err := h.decodeJSON(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	u := crmcore.ArticleUse{ArticleID: r.PathValue("id"), Kind: req.Kind, TicketNumber: req.TicketNumber,
		InteractionID: req.InteractionID, AgentID: p.AgentID, At: h.now().UTC()}
	if err := h.kb.store.RecordArticleUse(r.Context(), u); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) articleUses(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	limit, _, err := page(r.URL.Query().Get("limit"), "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	us, err := h.kb.store.ArticleUses(r.Context(), r.PathValue("id"), limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.ArticleUse]{Items: us, Count: len(us)})
}

func (h *Handler) knowledgeCategories(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	cs, err := h.kb.store.KnowledgeCategories(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse[string]{Items: cs, Count: len(cs)})
}

func (h *Handler) searchArticles(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	q, lang, limit, err := searchParams(r, crmcore.MaxSearchQuery, 50)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hs, err := h.kb.store.SearchArticles(r.Context(), q, lang, crmcore.VisibilityAgents, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.ArticleHit]{Items: hs, Count: len(hs)})
}

func (h *Handler) suggestArticles(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	q, lang, limit, err := searchParams(r, crmcore.MaxSearchQuery, 50)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hs, err := h.kb.store.SuggestArticles(r.Context(), q, lang, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.ArticleHit]{Items: hs, Count: len(hs)})
}

// searchParams reads and checks q (required, at most maxQuery bytes of
// text), lang (a language tag or nothing) and limit (1–maxLimit).
func searchParams(r *http.Request, maxQuery, maxLimit int) (q, lang string, limit int, err error) {
	v := r.URL.Query()
	q = v.Get("q")
	switch {
	case strings.TrimSpace(q) == "":
		return "", "", 0, bad("q", "a search query is required")
	case len(q) > maxQuery:
		return "", "", 0, bad("q", "at most "+strconv.Itoa(maxQuery)+" bytes")
	case !plainLine(q):
		return "", "", 0, bad("q", "text without control characters")
	}
	q = strings.TrimSpace(q)
	lang = strings.ToLower(v.Get("lang"))
	if lang != "" && !crmcore.ValidLanguage(lang) {
		return "", "", 0, bad("lang", "want a language tag such as en or de-ch")
	}
	limit, err = searchLimit(v.Get("limit"), maxLimit)
	return q, lang, limit, err
}

// searchLimit parses an optional result count of 1–maxLimit (0 when absent).
func searchLimit(s string, maxLimit int) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, bad("limit", "limit must be 1–"+strconv.Itoa(maxLimit))
	}
	return n, nil
}

// plainLine reports whether s is valid UTF-8 without control characters.
func plainLine(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}
