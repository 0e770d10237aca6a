#!/bin/sh
# generate.sh regenerates the IVR prompt sets from the phrase lists next to it.
#
#   ivr/prompts/generate.sh            # every language: en.txt -> en/*.wav, es.txt -> es/*.wav
#   ivr/prompts/generate.sh es         # one language
#
# Each line of <lang>.txt is "name|text" (# starts a comment). Every phrase is spoken by
# espeak-ng and converted by sox to 8 kHz mono G.711 mu-law WAV with leading and trailing
# silence trimmed and peaks normalised to -3 dBFS, the format the SIP gateway plays without
# transcoding; -R -D (repeatable, no dither) make the output byte-identical on every run.
# "beep" (the voicemail tone) is synthesised by sox for every language. The WAV files are
# committed, so only people who change the phrases need espeak-ng and sox
# (Debian: apt-get install espeak-ng sox).
set -eu

dir=$(cd "$(dirname "$0")" && pwd)
for tool in espeak-ng sox; do
	command -v "$tool" >/dev/null 2>&1 || { echo "generate.sh: $tool not found (apt-get install espeak-ng sox)" >&2; exit 1; }
done

voice_for() {
	case "$1" in
	en) echo en-us ;;
	es) echo es-419 ;;
	*) echo "$1" ;;
	esac
}

langs=${*:-$(cd "$dir" && ls *.txt | sed 's/\.txt$//')}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

for lang in $langs; do
	list="$dir/$lang.txt"
	[ -f "$list" ] || { echo "generate.sh: no phrase list $list" >&2; exit 1; }
	voice=$(voice_for "$lang")
	out="$dir/$lang"
	rm -rf "$out"
	mkdir -p "$out"
	n=0
	while IFS='|' read -r name text; do
		case "$name" in '' | '#'*) continue ;; esac
		espeak-ng -v "$voice" -s 160 -w "$tmp/raw.wav" "$text"
		sox -q -R -D "$tmp/raw.wav" -r 8000 -c 1 -e u-law "$out/$name.wav" \
			silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse norm -3
		n=$((n + 1))
	done <"$list"
	sox -q -R -D -n -r 8000 -c 1 -e u-law "$out/beep.wav" synth 0.4 sine 1000 vol 0.5
	echo "generate.sh: $lang: $((n + 1)) prompts in $out"
done
