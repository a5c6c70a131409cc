#!/usr/bin/env bash
# Prepares the environment once per node and commit (not once per trial).
set -euo pipefail
python -c "import sklearn; print('scikit-learn', sklearn.__version__)"
