#!/usr/bin/env bash
# The recipe sweep behind the shipped dermoscopy classifiers, for one GPU (a lent machine with a
# 10-minute command limit): several configurations of `python -m inference train-classifier`
# run side by side, each training diagnosis model A and model B with the same recipe (so that
# McNemar's comparison of A and B stays fair) and some the body-region model. Configurations are
# chosen on HAM10000 val only: pairs ranked by the mean balanced accuracy of A and B, the body-region
# run with the best balanced accuracy. The 4 best pairs' and the best body-region run's weights and
# cards, every run's summary and log, and the ranking (sweep.json) go to OUT.
#
#   bash experiments/sweep_classifiers_gpu.sh DATA OUT [SECONDS]
#
# SWEEP_EXTRA adds flags to every run (a smoke test: SWEEP_EXTRA="--epochs 1 --batch 8").
# SECONDS (default 540) is the time the sweep may take from its start: the first wave always runs;
# later waves start only when the first wave's pace says they will end in time. A run still
# training near the limit stops early (its summary says stopped_early) and is measured as it is.
set -u
DATA=$1
OUT=$2
LIMIT=${3:-540}
RUNS=${SWEEP_RUNS:-/tmp/classifier-sweep}
START=$SECONDS
mkdir -p "$RUNS" "$OUT"

declare -A FLAGS COST
# name → train-classifier flags; COST: GPU work relative to 30 epochs at input scale 1.5 (∝ pixels × epochs)
FLAGS[s15e30]="--input-scale 1.5 --epochs 30";                                  COST[s15e30]=1.0
FLAGS[s10e30]="--input-scale 1.0 --epochs 30";                                  COST[s10e30]=0.45
FLAGS[s15e60]="--input-scale 1.5 --epochs 60";                                  COST[s15e60]=2.0
FLAGS[s20e30]="--input-scale 2.0 --epochs 30";                                  COST[s20e30]=1.8
FLAGS[s15e30lr1]="--input-scale 1.5 --epochs 30 --learning-rate 1e-3";          COST[s15e30lr1]=1.0
FLAGS[b128s10e30m]="--input-scale 1.0 --epochs 30 --batch 128 --mixup 0.4";     COST[b128s10e30m]=0.45
FLAGS[b128s10e15]="--input-scale 1.0 --epochs 15 --batch 128";                  COST[b128s10e15]=0.23
FLAGS[b128s15e30m]="--input-scale 1.5 --epochs 30 --batch 128 --mixup 0.4";     COST[b128s15e30m]=1.0
FLAGS[b128s10e30mlr1]="--input-scale 1.0 --epochs 30 --batch 128 --mixup 0.4 --learning-rate 1e-3"; COST[b128s10e30mlr1]=0.45
FLAGS[b128s10e30m08]="--input-scale 1.0 --epochs 30 --batch 128 --mixup 0.8";  COST[b128s10e30m08]=0.45
FLAGS[b128s10e30mseed7]="--input-scale 1.0 --epochs 30 --batch 128 --mixup 0.4 --seed 7"; COST[b128s10e30mseed7]=0.45
FLAGS[b128s125e30m]="--input-scale 1.25 --epochs 30 --batch 128 --mixup 0.4";   COST[b128s125e30m]=0.7
FLAGS[b128s10e30mnat]="--input-scale 1.0 --epochs 30 --batch 128 --mixup 0.4 --sampling natural"; COST[b128s10e30mnat]=0.45
# which configurations train A and B in the first wave, which also the body-region model, and
# which may follow in a second wave
WAVE1=${SWEEP_WAVE1:-s15e30 s10e30}
BODY=${SWEEP_BODY-$WAVE1}
WAVE2=${SWEEP_WAVE2-s15e60 s20e30 s15e30lr1}

run() {  # run CONFIG TASK: one training, its own cards and weights folders, its log
    local config=$1 task=$2
    # a run still training 45 s before the limit stops there, says so, and is measured as it is
    local minutes
    minutes=$(python3 -c "print(round(($LIMIT - ($SECONDS - $START) - 45) / 60, 2))")
    mkdir -p "$RUNS/$config/cards"
    # shellcheck disable=SC2086
    python3 -m inference --cards "$RUNS/$config/cards" train-classifier --task "$task" --data "$DATA" \
        --weights-dir "$RUNS/$config/weights" --threads 2 --max-minutes "$minutes" ${FLAGS[$config]} ${SWEEP_EXTRA:-} > "$RUNS/$config/$task.log" 2>&1 \
        && echo "done $config $task ($((SECONDS - START)) s)" || echo "FAILED $config $task (see $RUNS/$config/$task.log)"
}

echo "wave 1: A and B of $WAVE1; body region of $BODY"
units=0
for config in $WAVE1; do
    for task in diagnosis diagnosis-location; do run "$config" $task & done
    units=$(python3 -c "print($units + 2 * ${COST[$config]})")
done
for config in $BODY; do
    run "$config" body-region &
    units=$(python3 -c "print($units + ${COST[$config]})")
done
wait
wave1=$((SECONDS - START))
pace=$(python3 -c "print($wave1 / $units)")  # seconds per unit of work, all runs side by side
echo "wave 1 took ${wave1} s (${pace} s per unit)"

left=$((LIMIT - wave1))
chosen=()
budget=0
for config in $WAVE2; do
    need=$(python3 -c "print(int(($budget + 2 * ${COST[$config]}) * $pace * 1.15))")
    if [ "$need" -lt "$left" ]; then chosen+=("$config"); budget=$(python3 -c "print($budget + 2 * ${COST[$config]})"); fi
done
echo "wave 2 (${left} s left): ${chosen[*]:-none}"
if [ ${#chosen[@]} -gt 0 ]; then
    for config in "${chosen[@]}"; do
        for task in diagnosis diagnosis-location; do run "$config" "$task" & done
    done
    wait
fi

python3 - "$RUNS" "$OUT" <<'PY'
import json, shutil, sys, tarfile
from pathlib import Path

runs, out = Path(sys.argv[1]), Path(sys.argv[2])
names = {"diagnosis": "dermoscopy-diagnosis", "diagnosis-location": "dermoscopy-diagnosis-location", "body-region": "body-region"}
found = {}
for config in sorted(p for p in runs.iterdir() if p.is_dir()):
    for task, name in names.items():
        summary = config / "weights" / f"{name}.train.json"
        if summary.exists():
            s = json.loads(summary.read_text())
            found.setdefault(config.name, {})[task] = {
                "balanced_accuracy": s["val"]["balanced_accuracy"], "ci95": s["val"]["balanced_accuracy_ci95"],
                "macro_auc": s["val"]["macro_auc"], "accuracy": s["val"].get("accuracy"), "tau": s["logit_adjustment"]["tau"],
                "by_tau": s["logit_adjustment"]["val_balanced_accuracy_by_tau"], "seconds": s["seconds"],
                "steps": s["steps"], "stopped_early": s["stopped_early"]}
pairs = {c: (r["diagnosis"]["balanced_accuracy"] + r["diagnosis-location"]["balanced_accuracy"]) / 2
         for c, r in found.items() if "diagnosis" in r and "diagnosis-location" in r}
bodies = {c: r["body-region"]["balanced_accuracy"] for c, r in found.items() if "body-region" in r}
ranked = sorted(pairs, key=pairs.get, reverse=True)
# the best configurations' A and B (weights, cards, val probabilities) come back whole, so that
# they can be compared and combined on val; the best body-region run likewise
for config in ranked[:4]:
    with tarfile.open(out / f"{config}.tar", "w") as tar:
        for task in ("diagnosis", "diagnosis-location"):
            tar.add(runs / config / "weights" / f"{names[task]}.pt", arcname=f"weights/{names[task]}.pt")
            tar.add(runs / config / "weights" / f"{names[task]}.val-probabilities.npy", arcname=f"weights/{names[task]}.val-probabilities.npy")
            tar.add(runs / config / "cards" / f"{names[task]}.json", arcname=f"cards/{names[task]}.json")
best_body = max(bodies, key=bodies.get) if bodies else None
if best_body:
    with tarfile.open(out / f"body-region-{best_body}.tar", "w") as tar:
        tar.add(runs / best_body / "weights" / "body-region.pt", arcname="weights/body-region.pt")
        tar.add(runs / best_body / "cards" / "body-region.json", arcname="cards/body-region.json")
with tarfile.open(out / "logs.tar.gz", "w:gz") as tar:
    for path in runs.rglob("*"):
        if path.suffix in (".log", ".json") and path.parent.name != "cards":
            tar.add(path, arcname=str(path.relative_to(runs)))
choice = {"diagnosis": ranked[0], "diagnosis-location": ranked[0], "body-region": best_body}
result = {"runs": found, "mean_a_b": pairs, "chosen": choice}
(out / "sweep.json").write_text(json.dumps(result, indent=2) + "\n")
print(json.dumps(result, indent=1))
PY
