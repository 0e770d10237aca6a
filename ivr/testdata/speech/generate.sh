#!/bin/sh
# generate.sh regenerates the speech fixtures: the demo menu's phrases and spoken digit
# strings, synthesised by espeak-ng in several voices and speeds, as a caller's audio
# reaches the IVR (8 kHz mono, through G.711 mu-law), clean and with noise mixed in.
#
#   ivr/testdata/speech/generate.sh
#
# clean/<words>_<voice>_<speed>.wav: the phrase with 0.25 s of silence either side, peaks
# at -6 dBFS, 8 kHz mono mu-law (the file is the G.711 round trip: readers decode it).
# noisy/<words>_<voice>_<speed>_<noise><snr>.wav: the same with white noise at 20 dB or
# pink noise at 15 dB signal-to-noise ratio (speech RMS over noise RMS) over its whole
# length. The words of the file name (dashes for spaces) are what is said. -R and -D
# (repeatable noise, no dither) make every run byte-identical. Needs espeak-ng and sox
# (Debian: apt-get install espeak-ng sox).
set -eu

dir=$(cd "$(dirname "$0")" && pwd)
for tool in espeak-ng sox; do
	command -v "$tool" >/dev/null 2>&1 || { echo "generate.sh: $tool not found (apt-get install espeak-ng sox)" >&2; exit 1; }
done

phrases="sales|buy|technical support|support|billing|invoice|spanish|call me back|talk to a person|agent|operator|four two seven one|one oh four two|nine zero eight|five oh seven two|eight six four|two zero two six"
voices="en-us en-us+m3 en-us+f2"
speeds="140 180"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
rm -rf "$dir/clean" "$dir/noisy"
mkdir -p "$dir/clean" "$dir/noisy"

# rms FILE: the RMS amplitude of FILE (0..1).
rms() { sox "$1" -n stat 2>&1 | awk '/RMS +amplitude/ {print $3}'; }

n=0
for voice in $voices; do
	for speed in $speeds; do
		echo "$phrases" | tr '|' '\n' | while read -r text; do
			name="$(echo "$text" | tr ' ' '-')_$(echo "$voice" | tr '+' '-')_$speed"
			espeak-ng -v "$voice" -s "$speed" -w "$tmp/raw.wav" "$text"
			sox -D "$tmp/raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$tmp/speech.wav" gain -n -6
			speech=$(rms "$tmp/speech.wav")
			sox -D "$tmp/speech.wav" "$tmp/padded.wav" pad 0.25 0.25
			sox -D "$tmp/padded.wav" -e mu-law "$dir/clean/$name.wav"
			len=$(soxi -D "$tmp/padded.wav")
			if [ "$speed" = 140 ]; then noise=white snr=20; else noise=pink snr=15; fi
			sox -D -R -n -r 8000 -c 1 -b 16 -e signed-integer "$tmp/noise.wav" synth "$len" "${noise}noise"
			gain=$(awk -v s="$speech" -v n="$(rms "$tmp/noise.wav")" -v snr="$snr" 'BEGIN {print s / n / 10^(snr/20)}')
			sox -D -m -v 1 "$tmp/padded.wav" -v "$gain" "$tmp/noise.wav" -e mu-law "$dir/noisy/${name}_$noise$snr.wav"
		done
	done
done
echo "generate.sh: $(ls "$dir/clean" | wc -l) clean and $(ls "$dir/noisy" | wc -l) noisy utterances in $dir"
