#!/bin/sh
# PyTorch for the trials: the CUDA build from PyPI on a GPU node; `pip install "tunelake[torch]"` does the same
python -c "import torch" 2>/dev/null || python -m pip install --quiet "torch>=2.0"
