// Package ivr is Switchboard's interactive voice response: call flows defined as data
// (YAML), a loader and validator that reject a broken flow before it goes live, and an
// interpreter that walks a flow on one live call and returns an Outcome for the ACD.
//
// # Flows as data
//
// A flows file (see testdata/demo.yaml) declares the languages, the default queue, entry
// points (a dialled number, DNIS, a WebRTC entry name, or a web chat entry name → a flow)
// and flows. A flow is a
// graph of named nodes; every node has a kind (play, menu, gather, lookup, branch, hours,
// language, queue, voicemail, callback, transfer, hangup, goto, survey) and names the nodes
// that follow it. [Load] parses and validates a file and returns an immutable [Set]; every
// problem it finds carries the file, line, flow, node and reason ([Problem]), and
// [ValidateMain] is the body of `switchboard ivr validate FILE`.
//
// # File format
//
// Top level: version (1), default_language, languages, default_queue (where error outcomes
// go), limits.max_steps (default 500), entry_points (dnis, webrtc or chat; flow, language) and
// flows (name → start, nodes). Every node has kind, optional description, and optional set
// (variable → value template, applied when the node is entered). Prompt lists hold prompt
// names or say items ({say: digits|number|date|time|currency, value: "{input.ticket}",
// currency: USD|EUR}). Templates "{ns.name}" read variables: caller.ani, caller.e164,
// caller.country, call.id, call.dnis, call.language, call.channel (voice or chat; set by
// Run, never by a flow), contact.id|name|segment|open_tickets
// (caller lookup), ticket.number|status|subject (ticket lookup), input.<var> (gather),
// survey.<question>. Fields per kind (durations like "5s"):
//
//	play      prompts, interruptible (false), next
//	menu      prompts, interruptible (true), options {"1": node}, labels {"1": Sales} (a
//	          chat's button labels, ≤ 40 characters), var (input.<var> gets the option
//	          chosen), timeout (5s), retries (2), invalid_prompts, timeout_prompts, default
//	          (after the last retry); speech: input, phrases {"1": [sales, buy]},
//	          confidence, no_input (see Speech)
//	gather    prompts, var, min_digits (1), max_digits (16), terminator ("#", "*" or ""),
//	          first_digit_timeout (5s), inter_digit_timeout (3s), pattern (regexp, anchored),
//	          confirm (you_entered + digits + confirm_entry; 1 accepts), retries, invalid_prompts,
//	          timeout_prompts, next, default; speech: input, phrases {billing: [billing,
//	          invoice]} or grammar: digits, confidence, no_input (see Speech)
//	lookup    lookup (caller|ticket), key (ticket: "{input.ticket}"; caller: the E.164/ANI),
//	          timeout (3s), found, not_found, error
//	branch    conditions [{var, equals|not_equals|in|lt|le|gt|ge|exists, next}], default
//	hours     timezone (IANA), weekly {mon: ["09:00-17:00"], …}, holidays ["2026-12-25"],
//	          open, closed
//	language  language (one of languages), next
//	queue     prompts, queue, skills {name: min level 1–5; "{call.language}": 1}, priority 0–100
//	voicemail prompts, max_length (2m), after_prompts, queue
//	callback  prompts (offer; the number is read back), confirm_prompts (1 confirm, 2 other
//	          number), enter_prompts, refused_prompts (a number the callback policy refuses:
//	          Input.Callbacks), after_prompts, min_digits (7), max_digits (15), timeout,
//	          first_digit_timeout, inter_digit_timeout, retries, invalid_prompts,
//	          timeout_prompts, queue, default
//	transfer  prompts, target (+15551234567 or sip:…)
//	hangup    prompts
//	goto      next (a node) or flow (the start of another flow)
//	survey    prompts, questions [{name, scale: 1-5|0-10, prompts, invalid_prompts, timeout,
//	          retries (1)}], next
//
// Quote DTMF keys in YAML: "*" starts an alias and "#" a comment.
//
// # Interpreter
//
// [Run] walks a [Flow] against a [Session], the small interface the SIP gateway (or a test
// fake, package ivrtest) implements for one call: play prompts, read DTMF digits with a
// timeout, record. Data dips go through [Lookup], which the CRM satisfies. Run is a plain
// function on the caller's goroutine: it keeps no state between calls and never blocks
// past the call's context, because every blocking operation is a Session, Lookup or
// Recognizer method that takes that context. It starts goroutines only while a speech
// node listens (one runs the endpointer over the caller's audio, one waits for a key),
// and they end before the node does. A caller hanging up ends Run promptly with an
// abandoned-in-IVR Outcome holding the path so far. A step limit stops runaway loops with an
// error Outcome that routes the call to the default queue.
//
// # Speech
//
// A menu or gather with input: speech (or both, keys too) listens to the caller. A menu's
// phrases map its options to what a caller may say ({"3": [billing, invoice]}); a
// gather's map values to phrases ({billing: [billing, invoice]}: input.<var> becomes
// "billing"), or grammar: digits takes min_digits to max_digits spoken digits ("four two
// seven one", "oh" for zero) as the number keyed would be, pattern and confirm included.
// Phrases are words of letters; [Grammar] holds them, and a [Recognizer] (Options; package
// ivr/sphinx is PocketSphinx) turns an utterance into text, the value it stands for and a
// confidence. Below the node's confidence (default 0.5) the answer counts as invalid:
// invalid_prompts and a retry, as a wrong key. no_input (default the node's timeout, or
// first_digit_timeout) bounds the wait for the caller to start, after the prompt.
//
// The session must hear the caller ([Ears]; the SIP gateway's calls do). The caller's
// frames go through an [Endpointer], an energy detector tuned by [Endpointing]: voiced
// audio for Endpointing.Start starts an utterance, Endpointing.EndSilence of pause ends
// it. Speech that starts over an interruptible prompt stops it, as a key does (barge-in),
// and a key still answers a node that takes both. The path records what was heard as a
// speech step, `speech:"billing"@0.87` ([Step]), and the node's variable gets the value
// with input.<var>_speech and input.<var>_confidence beside it; a keyed answer clears
// those.
//
// The loader asks the recognizer to Check every speech node's grammar. Without one, an
// input: speech node is an error quoting Options.NoRecognizer (why there is none), and
// an input: both node a warning: it takes keys only. A session without Ears takes keys
// too.
//
// # Chat
//
// The same flows serve a web chat. A session that implements [TextSession] is shown each
// prompt list as text ([TextPrompt]: the prompts' texts, a say item's value, a menu's
// options as buttons) and feeds its customer's replies back as digits
// ([TextPrompt.Reply]); call.channel is "chat". A speech node's phrases are its
// buttons' phrases: typing one ("Invoice") chooses the button, as a click does; a
// gather's phrase values are shown as buttons; digits may be typed as words. The validator checks every node a chat
// entry point reaches, following branches on call.channel as a chat takes them:
// voicemail, callback and transfer need a phone call and are errors there.
//
// # Concurrency and reloading
//
// A [Set] and the [Flow]s in it are immutable once loaded and safe for any number of calls
// at once. [Registry] holds the current Set behind an atomic pointer: [Registry.Reload]
// (which cmd/switchboard calls on SIGHUP) swaps in a new Set only when it validates, and a
// call that already started keeps the *Flow it was given, so it finishes on the version it
// started with.
//
// # Prompts
//
// Prompts are 8 kHz mono μ-law WAV files in per-language folders under one root
// (prompts/en/welcome.wav). A flow names prompts, never files; [Prompts.Path] maps a name and
// a language to a file, falling back to the default language; [Prompts.Text] gives its text
// from <root>/<lang>.txt (the lines generate.sh speaks), which a chat shows. `say` items (digits, numbers,
// dates, times, currency) are spelled from prerecorded word prompts by [Say]. The default
// English and Spanish sets are generated by prompts/generate.sh (espeak-ng + sox) and
// committed, so running needs neither tool.
package ivr
