package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"switchboard/crmcore"
	"switchboard/crmcore/pgcluster/pgtest"
)

const benchArticles = 100_000

var (
	kbOnce  sync.Once
	kbPool  *pgxpool.Pool
	kbErr   error
	kbWords []string
)

// benchVocabulary returns n distinct made-up words of two to four
// syllables, the same on every run.
func benchVocabulary(n int) []string {
	syl := []string{"ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "den", "gar", "pol", "sen", "tor", "bra", "cle", "fin"}
	rng := rand.New(rand.NewPCG(7, 11))
	seen := map[string]bool{}
	out := make([]string, 0, n)
	for len(out) < n {
		w := ""
		for range 2 + rng.IntN(3) {
			w += syl[rng.IntN(len(syl))]
		}
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// loadArticles generates n articles in one insert … select over
// generate_series: words drawn from vocab with a Zipf-like skew (a few
// words are in most articles, most in few), 8-word titles and 150-word
// bodies, 80% English and the rest German, French and Spanish, 30%
// public. The GIN indexes, whatever the migrations made them, are
// dropped before the load and built again after it. The word subqueries
// refer to i so that they run once per article, not once in all.
func loadArticles(ctx context.Context, pool *pgxpool.Pool, vocab []string, n int) error {
	rows, _ := pool.Query(ctx, `select indexname, indexdef from pg_indexes
		where tablename = 'knowledge_articles' and indexdef like '% USING gin %'`)
	gin, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ix [2]string, err error) {
		err = r.Scan(&ix[0], &ix[1])
		return ix, err
	})
	if err != nil {
		return err
	}
	if len(gin) == 0 {
		return errors.New("knowledge_articles has no GIN index")
	}
	for _, ix := range gin {
		if _, err := pool.Exec(ctx, `drop index `+pgx.Identifier{ix[0]}.Sanitize()); err != nil {
			return err
		}
	}
	if _, err := pool.Exec(ctx, `insert into knowledge_categories (name) values ('general')`); err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `
		with v as (select $1::text[] as w, cardinality($1::text[]) as n)
		insert into knowledge_articles (id, title, body, category, language, config, visibility, created_at, updated_at)
		select gen_random_uuid(),
			(select string_agg(v.w[1 + floor(v.n * random() ^ 2)::int], ' ' order by g) from generate_series(1, 8) g where i > 0),
			(select string_agg(v.w[1 + floor(v.n * random() ^ 2)::int], ' ' order by g) from generate_series(1, 150) g where i > 0),
			'general', l.lang, l.cfg::regconfig, case when i % 10 < 3 then 'public' else 'agents' end,
			now() - i * interval '1 minute', now() - i * interval '1 minute'
		from v, generate_series(1, $2) i,
			lateral (select case when i % 20 < 16 then 'en' when i % 20 < 18 then 'de' when i % 20 < 19 then 'fr' else 'es' end) lg(lang),
			lateral (select lg.lang, case lg.lang when 'en' then 'english' when 'de' then 'german' when 'fr' then 'french'
				else 'spanish' end) l(lang, cfg)`, vocab, n)
	if err != nil {
		return err
	}
	for _, ix := range gin {
		if _, err := pool.Exec(ctx, ix[1]); err != nil {
			return err
		}
	}
	_, err = pool.Exec(ctx, `vacuum analyze knowledge_articles`)
	return err
}

// knowledgeBenchDSNEnv names a database the knowledge benchmarks keep
// between runs instead of loading a new one in the test cluster each
// time: it is migrated and loaded when it has no articles, and used as
// it is when it has benchArticles (drop it after changing a migration it
// already ran).
const knowledgeBenchDSNEnv = "SWITCHBOARD_KNOWLEDGE_BENCH_DSN"

// knowledgeStore returns a store over a database of benchArticles
// generated articles, built once for every benchmark that needs it.
func knowledgeStore(b *testing.B) *Store {
	kbOnce.Do(func() {
		ctx := context.Background()
		kbWords = benchVocabulary(5000)
		dsn := os.Getenv(knowledgeBenchDSNEnv)
		if dsn == "" {
			// The database outlives the benchmark that creates it;
			// pgtest.Main removes the cluster at the end.
			c := pgtest.DurableCluster(b)
			if kbErr = c.CreateDatabase(ctx, "knowledge_bench"); kbErr != nil {
				return
			}
			dsn = c.DSN("knowledge_bench")
		}
		if kbPool, kbErr = Connect(ctx, dsn); kbErr != nil {
			return
		}
		if kbErr = Migrate(ctx, kbPool); kbErr != nil {
			return
		}
		var n int
		if kbErr = kbPool.QueryRow(ctx, `select count(*) from knowledge_articles`).Scan(&n); kbErr != nil || n == benchArticles {
			return
		}
		if n != 0 {
			kbErr = fmt.Errorf("%s: %d articles, want none or %d", knowledgeBenchDSNEnv, n, benchArticles)
			return
		}
		start := time.Now()
		if kbErr = loadArticles(ctx, kbPool, kbWords, benchArticles); kbErr != nil {
			return
		}
		b.Logf("loaded %d articles in %v", benchArticles, time.Since(start).Round(time.Millisecond))
		// Searches start on fresh connections, not on the one that loaded.
		kbPool.Reset()
	})
	if kbErr != nil {
		b.Fatal(kbErr)
	}
	return New(kbPool)
}

// BenchmarkKnowledgeSearch measures Store.SearchArticles over 100,000
// articles in the durable cluster: queries of one to three words drawn
// from the articles' own vocabulary with the same skew (so that common
// words, found in thousands of articles, are asked for as often as they
// occur), half in English only and half across every language, for the
// agents' audience, ten results with excerpts. Calls are sequential after
// 500 warm-up searches; it reports the p50/p99 latency per search.
func BenchmarkKnowledgeSearch(b *testing.B) {
	s := knowledgeStore(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 5))
	found := 0
	search := func() error {
		q := ""
		for i := range 1 + rng.IntN(3) {
			if i > 0 {
				q += " "
			}
			u := rng.Float64()
			q += kbWords[int(float64(len(kbWords))*u*u)]
		}
		lang := ""
		if rng.IntN(2) == 0 {
			lang = "en"
		}
		hs, err := s.SearchArticles(ctx, q, lang, crmcore.VisibilityAgents, 10)
		if len(hs) > 0 {
			found++
		}
		return err
	}
	for range 500 {
		if err := search(); err != nil {
			b.Fatal(err)
		}
	}
	found = 0
	measureLatency(b, search)
	if found == 0 {
		b.Fatal("no search found an article")
	}
}
