"""An RNN that tells noisy waves apart: the sequence task of the pytorch-rnn example.

Each sequence is a sine wave of one of ``CLASSES`` frequencies, with a random
phase and noise, seen for ``seq_len`` time steps; the RNN names its
frequency. Longer sequences carry more evidence, so accuracy depends on the
time steps as much as on the batch size: the map of the source document's
Figure 4 (``tunelake plot EXPERIMENT --x batch_size --y seq_len``).

The trial protocol, as a user's program speaks it: parameters from
``TUNELAKE_PARAMS``, one JSON line per epoch on stdout, a checkpoint in
``TUNELAKE_CHECKPOINT_DIR`` before each report, ``TUNELAKE_RESTORE_DIR`` to go
on from one (after a lost worker, or when PBT clones another trial into
this one), and the final model in ``TUNELAKE_MODEL_DIR``. It uses the GPU
Ray gives the trial (``gpus_per_trial: 0.5`` puts two trials on one), else
the CPU.
"""

import json
import math
import os
import sys
import time
from pathlib import Path

import torch
from torch import nn

CLASSES = 4
TRAIN, VALID = 2048, 512


def waves(count: int, seq_len: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` noisy sine waves of ``seq_len`` steps, and their frequency class (the same for every trial)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, CLASSES, (count,), generator=g)
    freq = 0.06 + 0.025 * labels.float()
    phase = torch.rand(count, generator=g) * 2 * math.pi
    steps = torch.arange(seq_len).float()
    x = torch.sin(freq[:, None] * 2 * math.pi * steps[None, :] + phase[:, None])
    x = x + 0.9 * torch.randn(count, seq_len, generator=g)
    return x.unsqueeze(-1), labels


class Classifier(nn.Module):
    def __init__(self, hidden: int, layers: int) -> None:
        super().__init__()
        self.rnn = nn.GRU(1, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def main() -> None:
    p = json.loads(os.environ["TUNELAKE_PARAMS"])
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(f"device={device} CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '')}", file=sys.stderr)
    torch.manual_seed(p.get("seed", 0))
    x, y = waves(TRAIN, p["seq_len"], seed=1)
    vx, vy = waves(VALID, p["seq_len"], seed=2)
    x, y, vx, vy = x.to(device), y.to(device), vx.to(device), vy.to(device)
    model = Classifier(p["hidden"], p["layers"]).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=p["lr"])
    checkpoints = Path(os.environ["TUNELAKE_CHECKPOINT_DIR"])
    start = 0
    restore = os.environ.get("TUNELAKE_RESTORE_DIR")
    if restore and Path(restore, "state.pt").exists():
        # under PBT the restored state may come from another trial, with this trial's new lr and batch size
        state = torch.load(Path(restore, "state.pt"), map_location=device)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        for group in opt.param_groups:
            group["lr"] = p["lr"]
        start = state["epoch"]
    for epoch in range(start + 1, p["epochs"] + 1):
        began = time.perf_counter()
        model.train()
        order = torch.randperm(TRAIN, device=device)
        total = 0.0
        for i in range(0, TRAIN, p["batch_size"]):
            batch = order[i:i + p["batch_size"]]
            loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(batch)
        model.eval()
        with torch.no_grad():
            accuracy = (model(vx).argmax(1) == vy).float().mean().item()
        state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch}
        torch.save(state, checkpoints / "state.pt.tmp")
        os.replace(checkpoints / "state.pt.tmp", checkpoints / "state.pt")  # the checkpoint, whole, then its report
        seconds = time.perf_counter() - began
        print(json.dumps({"epoch": epoch, "accuracy": accuracy, "loss": total / TRAIN, "epoch_s": seconds,
                          "samples_per_s": TRAIN / seconds}), flush=True)
    torch.save(model.state_dict(), Path(os.environ["TUNELAKE_MODEL_DIR"]) / "model.pt")


if __name__ == "__main__":
    main()
