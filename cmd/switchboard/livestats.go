package main

import (
	"context"
	"log/slog"
	"time"

	"switchboard/acd"
	"switchboard/acd/stats"
	"switchboard/crmcore/pgstore"
)

// seedStats gives a starting engine's live queue statistics the last
// hour of the calls completed before until (its start), from the CRM's
// records: a restart, or a new cluster leader, does not show the
// supervisors empty queues. The calls still going on are re-announced to
// the engine and counted by it.
func seedStats(ctx context.Context, engine *acd.Engine, store *pgstore.Store, until time.Time, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rows, err := store.QueueMinutes(ctx, until.Add(-time.Hour), until)
	if err != nil {
		log.Warn("acd: live statistics start empty", "err", err)
		return
	}
	minutes := make([]acd.QueueMinute, 0, len(rows))
	for _, r := range rows {
		u := r.Sums
		sec := func(ms int64) float64 { return float64(ms) / 1000 }
		minutes = append(minutes, acd.QueueMinute{Queue: r.Key, Minute: r.Period, Counts: stats.Counts{
			Offered: int(u.Offered), Answered: int(u.Answered), AnsweredWithin: int(u.AnsweredWithinSL),
			Abandoned: int(u.AbandonedLong), ShortAbandoned: int(u.AbandonedShort), WaitAnsweredSum: sec(u.SumWaitMS),
			Handled: int(u.Handled), HandleSum: sec(u.SumTalkMS + u.SumHoldMS + u.SumWrapMS),
			TalkSum: sec(u.SumTalkMS), HoldSum: sec(u.SumHoldMS), WrapSum: sec(u.SumWrapMS)}})
	}
	if err := engine.SeedStats(ctx, minutes); err != nil {
		log.Warn("acd: live statistics start empty", "err", err)
		return
	}
	log.Info("acd: live statistics seeded from the last hour's records", "minutes", len(minutes))
}
