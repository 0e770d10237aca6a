package crmapi

import (
	"net/http"
	"net/netip"
	"time"

	"switchboard/crmcore"
)

// publicKB wraps an unauthenticated knowledge endpoint: 404 without a
// knowledge base, 429 once the client's budget is spent.
func (h *Handler) publicKB(fn http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.kb == nil {
			h.fail(w, r, crmcore.ErrNotFound)
			return
		}
		addr, _ := netip.ParseAddr(sourceAddr(r))
		if !h.kb.public.Allow(addr, h.now()) {
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, "throttled", "too many searches; retry shortly", "")
			return
		}
		fn(w, r)
	}
}

// publicSearch searches the public articles (GET /api/v1/public/knowledge/search).
func (h *Handler) publicSearch(w http.ResponseWriter, r *http.Request) {
	q, lang, limit, err := searchParams(r, maxPublicQuery, maxPublicResults)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if limit == 0 {
		limit = 5
	}
	hs, err := h.kb.store.SearchArticles(r.Context(), q, lang, crmcore.VisibilityPublic, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for i := range hs {
		hs[i].Views, hs[i].Uses = 0, 0 // internal figures
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.ArticleHit]{Items: hs, Count: len(hs)})
}

// publicArticleView is what the public sees of an article.
type publicArticleView struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Category  string    `json:"category"`
	Language  string    `json:"language"`
	UpdatedAt time.Time `json:"updated_at"`
	HTML      string    `json:"html"`
}

// publicArticle returns a public article, rendered (GET
// /api/v1/public/knowledge/articles/{id}); any other is not found.
func (h *Handler) publicArticle(w http.ResponseWriter, r *http.Request) {
	a, err := h.kb.store.GetArticle(r.Context(), r.PathValue("id"))
	if err == nil && a.Visibility != crmcore.VisibilityPublic {
		err = crmcore.ErrNotFound
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, publicArticleView{ID: a.ID, Title: a.Title, Category: a.Category, Language: a.Language,
		UpdatedAt: a.UpdatedAt, HTML: h.kb.render.Render(a.BodyMarkdown)})
}
