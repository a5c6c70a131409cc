"""The device check for a GPU machine: ``python examples/gpu/check.py`` (a minute or two; exit 0 when all holds).

Runs ``experiment.json`` (two trials of half a GPU each) on a private local
Ray and checks that both trials completed, that on a one-GPU node they saw
the same device, that each stayed within its memory share, and that the GPU
beat the CPU. Prints what each trial reported.
"""

import json
import sys
import tempfile
from pathlib import Path

import tunelake


def main() -> int:
    with tempfile.TemporaryDirectory() as lake:
        result = tunelake.run(Path(__file__).with_name("experiment.json"), lake=lake)
        trials = result.trials
        problems = [f"trial {t.trial_id} {t.status}: {t.reason}" for t in trials.itertuples()
                    if t.status != "completed"]
        reports = [json.loads(m) for m in trials["metrics"] if m]
    for report in reports:
        print(json.dumps(report))
    if not problems and len(reports) == 2:
        import torch

        if torch.cuda.device_count() == 1 and reports[0]["device_id"] != reports[1]["device_id"]:
            problems.append("two trials of half a GPU on a one-GPU node saw different devices")
        for r in reports:
            if r["memory_peak_mib"] > r["memory_share_mib"]:
                problems.append(f"a trial used {r['memory_peak_mib']:.0f} MiB, over its {r['memory_share_mib']:.0f}")
            if r["speedup"] <= 1:
                problems.append(f"the GPU was not faster than the CPU (speedup {r['speedup']:.2f})")
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
