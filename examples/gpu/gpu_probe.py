"""A GPU trial: checks the device Ray gave it and, with PyTorch, times a matmul.

Run on a machine (or cluster) with NVIDIA GPUs:

    tunelake run examples/gpu/experiment.json

Each trial asks for half a GPU, so two trials share one device. It reports
what it saw (``CUDA_VISIBLE_DEVICES``, ``nvidia-smi``) and, if PyTorch with
CUDA is installed, the matmul throughput at the trial's matrix size; it fails
(exit 3) when no GPU is visible, so a misconfigured cluster shows up as
failed trials with a reason rather than as slow CPU runs.
"""

import json
import os
import shutil
import subprocess
import sys
import time

size = int(sys.argv[1])
visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
print(f"CUDA_VISIBLE_DEVICES={visible!r}", file=sys.stderr)
if not visible or shutil.which("nvidia-smi") is None:
    print("no GPU visible to this trial", file=sys.stderr)
    sys.exit(3)
smi = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
                     capture_output=True, text=True, check=True).stdout.strip().splitlines()
print(f"nvidia-smi: {smi}", file=sys.stderr)
report = {"gpus_visible": len(visible.split(",")), "gpu_memory_mib": float(smi[0].split(",")[1])}
try:
    import torch
except ImportError:
    report["tflops"] = 0.0
else:
    a = torch.randn(size, size, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(size, size, device="cuda", dtype=torch.bfloat16)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(20):
        a @ b
    torch.cuda.synchronize()
    report["tflops"] = 20 * 2 * size**3 / (time.perf_counter() - start) / 1e12
print(json.dumps(report))
