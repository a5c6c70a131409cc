#!/bin/sh
# A "training run" in plain shell and awk: gradient descent on a 2-D
# Rosenbrock valley. tunelake passes the learning rate and momentum as
# arguments (placeholders in the command) and as TUNELAKE_PARAM_* variables;
# the script reports `epoch=N loss=V` lines on stdout, one per epoch.
set -eu
lr="$1"
momentum="${TUNELAKE_PARAM_MOMENTUM:?momentum comes from tunelake}"
epochs="${EPOCHS:-8}"
awk -v lr="$lr" -v mu="$momentum" -v epochs="$epochs" 'BEGIN {
  x = -1.5; y = 2.0; vx = 0; vy = 0
  for (e = 1; e <= epochs; e++) {
    for (i = 0; i < 200; i++) {
      gx = -2 * (1 - x) - 400 * x * (y - x * x)
      gy = 200 * (y - x * x)
      vx = mu * vx - lr * gx; vy = mu * vy - lr * gy
      x += vx; y += vy
      if (x > 1e6 || x < -1e6 || y > 1e6 || y < -1e6) { print "diverged" > "/dev/stderr"; exit 3 }
    }
    loss = (1 - x) ^ 2 + 100 * (y - x * x) ^ 2
    printf "epoch=%d loss=%.10g\n", e, loss
  }
}'
mkdir -p "$TUNELAKE_MODEL_DIR"
echo "lr=$lr momentum=$momentum" > "$TUNELAKE_MODEL_DIR/weights.txt"
