#!/usr/bin/env bash
# Reproduce the shipped demonstration quality model from a clean checkout (make train-quality):
# phantom training and test sets from disjoint seeds, MED-Net training (seeded), evaluation on the
# test phantoms into the model card, ONNX export. CPU: about 35 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
DATA="${DATA:-var/phantoms}"
STEPS="${STEPS:-1300}"
MAX_MINUTES="${MAX_MINUTES:-}"  # optional safety cap; the shipped run finished all its steps

$PY -m inference generate-phantoms --out "$DATA/train" --seeds 0:240 --size 1024 --spacing 2.0
$PY -m inference generate-phantoms --out "$DATA/test" --seeds 100000:100040 --size 1024 --spacing 2.0
$PY -m inference train-quality --data "$DATA/train" --steps "$STEPS" ${MAX_MINUTES:+--max-minutes "$MAX_MINUTES"} --width 12 --version 0.1.0
$PY -m inference evaluate-quality --data "$DATA/test" --out "$DATA/phantom_test_metrics.json" --split phantom_test \
  --update-card --how "40 phantoms, seeds 100000-100039 (training used 0-239), 1024x1024 at 2 um/px resampled to the working 4 um/px; pixel counts pooled over the imaged area; threshold 0.5; PyTorch on CPU"
$PY -m inference export-onnx
