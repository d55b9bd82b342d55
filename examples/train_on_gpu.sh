#!/bin/bash
# Train on a GPU machine that has JAX but no TensorFlow (docs/model.md, gpu-v33), keeping a
# copy of every epoch's checkpoint. Run from the repository root after installing the
# package and keras (for example from wheels built elsewhere: `pip wheel --no-deps .`):
#
#   MNIST=/path/to/mnist-train RUN=/tmp/run SNAPSHOTS=/tmp/snap SECONDS_LEFT=480 \
#       bash examples/train_on_gpu.sh
#
# Training stops after SECONDS_LEFT even inside an epoch, so every epoch that ended is kept
# in SNAPSHOTS as eN.keras beside the run's config.json, training.json and log.csv (the
# training facts `fcn8-ocr export` reads). Extra arguments go to `fcn8-ocr train`.
set -u
: "${MNIST:?MNIST names the MNIST training files}" "${RUN:?RUN names a new run folder}"
SNAPSHOTS=${SNAPSHOTS:-$RUN-snapshots} SECONDS_LEFT=${SECONDS_LEFT:-480} WORKERS=${WORKERS:-14}
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1  # -P below: the installed package, not ./fcn8_ocr
mkdir -p "$SNAPSHOTS"
# the bundled fp32 file, whichever precision default.onnx is
BUNDLED_FP32=$(python3 -P -c 'from fcn8_ocr.models import bundled_files; print(bundled_files()["fp32"])') || exit 1
start=$(date +%s)
timeout "$SECONDS_LEFT" python3 -P -m fcn8_ocr train --workers "$WORKERS" --out "$RUN" --epochs 20 \
    --steps 800 --batch-size 32 --lr 1e-4 --seed 34 --mnist "$MNIST" \
    --init-from "$BUNDLED_FP32" --select-by iou --ema 0.999 --patience 40 \
    --m2nist-fraction 0.15 --field-fraction 0.4 --row-fraction 0.35 --reproportion 0.4 \
    --quiet "$@" &
trainer=$!
kept=0
while kill -0 "$trainer" 2>/dev/null; do
    sleep 2
    ended=0
    [ -f "$RUN/log.csv" ] && ended=$(( $(wc -l < "$RUN/log.csv") - 1 ))
    if [ "$ended" -gt "$kept" ]; then  # the log's line is written after last.keras
        cp "$RUN/last.keras" "$SNAPSHOTS/e$ended.keras"
        kept=$ended
        echo "epoch $ended kept at $(( $(date +%s) - start )) s"
    fi
done
wait "$trainer"
status=$?
cp "$RUN/config.json" "$RUN/training.json" "$RUN/log.csv" "$SNAPSHOTS/" 2>/dev/null
echo "training ended with $status after $(( $(date +%s) - start )) s; $kept epochs in $SNAPSHOTS"
