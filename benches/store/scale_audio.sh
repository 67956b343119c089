#!/usr/bin/env bash
# Audio for the 300-hour store benchmark (benches/store/scale.sh): every track of the evaluation
# libraries of corpora A and B (benches/eval) in 34 altered copies, 8 kHz mono MP3 (the rate
# latentid analyses at; 7 MB per hour, so 300 h fit in ~2.2 GB):
#   speed k = +-1..+-8 semitones (asetrate: pitch and tempo together, like a record at another speed)
#   pitch k = +-1..+-9 semitones with the tempo restored (asetrate + atempo)
# They are real encoder inputs of real music, related to their originals (labelled as such).
#   benches/store/scale_audio.sh OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:?usage: scale_audio.sh OUT_DIR}
mkdir -p "$out/mono" "$out/variants"
for corpus in a b; do
    for f in benches/work/eval/$corpus/library/*; do
        b=$corpus-$(basename "${f%.*}" | tr -c 'A-Za-z0-9_\n-' '_')
        [ -s "$out/mono/$b.wav" ] || ffmpeg -nostdin -v error -y -i "$f" -ac 1 -ar 16000 "$out/mono/$b.wav"
    done
done
{
    for k in -8 -7 -6 -5 -4 -3 -2 -1 1 2 3 4 5 6 7 8; do
        r=$(python3 -c "print(f'{2**($k/12):.6f}')")
        for w in "$out"/mono/*.wav; do
            b=$(basename "${w%.wav}")
            o="$out/variants/${b}__speed${k}.mp3"
            [ -s "$o" ] || echo "ffmpeg -nostdin -v error -y -i '$w' -af 'asetrate=16000*$r,aresample=8000' -ac 1 -b:a 16k '$o'"
        done
    done
    for k in -9 -8 -7 -6 -5 -4 -3 -2 -1 1 2 3 4 5 6 7 8 9; do
        r=$(python3 -c "print(f'{2**($k/12):.6f}')")
        t=$(python3 -c "print(f'{2**(-$k/12):.6f}')")
        for w in "$out"/mono/*.wav; do
            b=$(basename "${w%.wav}")
            o="$out/variants/${b}__pitch${k}.mp3"
            [ -s "$o" ] || echo "ffmpeg -nostdin -v error -y -i '$w' -af 'asetrate=16000*$r,atempo=$t,aresample=8000' -ac 1 -b:a 16k '$o'"
        done
    done
} | xargs -P "$(nproc)" -I{} sh -c '{}'
