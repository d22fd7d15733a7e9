#!/usr/bin/env bash
# Several seeds of diagnosis models A and B, one starting point (--init-seed), side by side on one GPU
# (a lent machine with a 10-minute command limit), then a weight soup of each model
# (`python -m inference soup-classifier`): one network per model, no dearer to run than one seed.
# A and B get the same seeds and recipe, so McNemar's comparison of the two soups stays fair.
#
#   bash experiments/soup_classifiers_gpu.sh DATA OUT [SEEDS] [SECONDS]
#
# SEEDS (default "11 12 13 14"); SECONDS (default 480): a run still training then stops, says so in
# its card, and is left out of the soup. SOUP_WITH_SHIPPED=1 adds the shipped runs (inference/cards,
# trained with init seed 2022) as members; SOUP_INIT_SEED (default 2022) sets the starting point;
# SOUP_EXTRA adds flags to every run (a smoke test: SOUP_EXTRA="--epochs 1 --batch 8").
# OUT gets soups.tar (both soups' weights, cards and summaries: 14 MB, under the device's 16 MB a
# file) and runs.tar.gz (every run's card, summary, val probabilities and log; not their weights).
set -u
DATA=$1
OUT=$2
SEEDS=${3:-11 12 13 14}
LIMIT=${4:-480}
INIT_SEED=${SOUP_INIT_SEED:-2022}
RUNS=${SOUP_RUNS:-/tmp/classifier-soup}
mkdir -p "$RUNS/soup/cards" "$OUT"
minutes=$(python3 -c "print(round(($LIMIT - 60) / 60, 2))")  # a minute left for the soups

for seed in $SEEDS; do
    for task in diagnosis diagnosis-location; do
        mkdir -p "$RUNS/$task-$seed/cards"
        # shellcheck disable=SC2086
        python3 -m inference --cards "$RUNS/$task-$seed/cards" train-classifier --task "$task" --data "$DATA" \
            --weights-dir "$RUNS/$task-$seed/weights" --seed "$seed" --init-seed "$INIT_SEED" --threads 2 \
            --max-minutes "$minutes" ${SOUP_EXTRA:-} > "$RUNS/$task-$seed/train.log" 2>&1 \
            && echo "done $task seed $seed ($SECONDS s)" || echo "FAILED $task seed $seed (see $RUNS/$task-$seed/train.log)" &
    done
done
wait

for task in diagnosis diagnosis-location; do
    name=$([ "$task" = diagnosis ] && echo dermoscopy-diagnosis || echo dermoscopy-diagnosis-location)
    # the runs that finished their schedule; soup-classifier refuses the others
    mapfile -t members < <(python3 - "$RUNS" "$task" "$name" <<'PY'
import json, sys
from pathlib import Path
runs, task, name = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
for card in sorted(runs.glob(f"{task}-*/cards/{name}.json")):
    if not json.loads(card.read_text())["training"]["log"]["stopped_early"]:
        print(card)
PY
)
    [ "${SOUP_WITH_SHIPPED:-0}" = 1 ] && members+=("inference/cards/$name.json")
    echo "soup of $task: ${#members[@]} runs"
    python3 -m inference --cards "$RUNS/soup/cards" soup-classifier --task "$task" --data "$DATA" \
        --members "${members[@]}" --weights-dir "$RUNS/soup/weights" 2>&1 | tee "$RUNS/soup/$task.log"
done

tar cf "$OUT/soups.tar" -C "$RUNS" soup
(cd "$RUNS" && find . -name '*.log' -o -name '*.json' -o -name '*.npy' | grep -v '^./soup/' | tar czf "$OUT/runs.tar.gz" -T -)
python3 - "$RUNS" <<'PY'
import json, sys
from pathlib import Path
runs = Path(sys.argv[1])
for summary in sorted((runs / "soup" / "weights").glob("*.soup.json")):
    s = json.loads(summary.read_text())
    print(summary.stem, {"soup": s["val"]["balanced_accuracy"], "ci95": s["val"]["balanced_accuracy_ci95"],
                         "members": [(m["seed"], m["val_balanced_accuracy"]) for m in s["members"]],
                         "ensemble": s["ensemble_val_balanced_accuracy"], "tau": s["logit_adjustment"]["tau"]})
PY
