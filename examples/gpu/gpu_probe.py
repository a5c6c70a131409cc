"""A GPU trial: which device Ray gave it, whether it stays in its memory share, and its speed against the CPU.

Each trial asks for half a GPU (``gpus_per_trial: 0.5``), so on a one-GPU
node the two trials of ``experiment.json`` share a device. A trial limits
itself to its share of the device's memory (PyTorch's per-process memory
fraction), fills most of it, times a matrix product on the GPU and on the
CPU, and reports (all numbers, so they land in the lake's ``metrics``):
``device_id`` (from the GPU's UUID: equal for trials on the same device),
``memory_peak_mib`` against ``memory_share_mib``, ``gpu_tflops``,
``cpu_tflops`` and ``speedup``. It fails (exit 3) when no GPU is visible,
so a misconfigured cluster shows up as failed trials with a reason.
``check.py`` runs it and checks what it reports.
"""

import json
import os
import sys
import time

SHARE = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5


def tflops(torch, device: str, size: int, dtype, repeat: int) -> float:
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    a @ b  # warm up (kernels, allocations)
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeat):
        a @ b
    if device == "cuda":
        torch.cuda.synchronize()
    return repeat * 2 * size**3 / (time.perf_counter() - start) / 1e12


def main() -> None:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    print(f"CUDA_VISIBLE_DEVICES={visible!r}", file=sys.stderr)
    try:
        import torch
    except ImportError:
        sys.exit("PyTorch is not installed on this node: pip install torch (the CUDA build)")
    if not visible or not torch.cuda.is_available():
        print("no GPU visible to this trial", file=sys.stderr)
        sys.exit(3)
    props = torch.cuda.get_device_properties(0)
    torch.cuda.set_per_process_memory_fraction(SHARE, 0)
    share_mib = props.total_memory * SHARE / 2**20
    # fill 80% of the share: a trial that overstepped it would get an out-of-memory error here
    ballast = torch.empty(int(share_mib * 0.8 * 2**20), dtype=torch.uint8, device="cuda")
    gpu = tflops(torch, "cuda", 8192, torch.bfloat16, 20)
    del ballast
    cpu = tflops(torch, "cpu", 1024, torch.float32, 3)
    print(json.dumps({
        "device_id": int(str(props.uuid).replace("-", "")[:12], 16),
        "memory_share_mib": share_mib, "memory_peak_mib": torch.cuda.max_memory_allocated() / 2**20,
        "gpu_tflops": gpu, "cpu_tflops": cpu, "speedup": gpu / cpu,
    }))


if __name__ == "__main__":
    main()
