"""End to end: real Ray, real subprocesses, real Parquet files."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tunelake
from tests.conftest import DATASETS, EXAMPLES, TEST_INSTANCE_TYPE, commit_all, write_repo
from tests.sweep import wait_for_no_leftovers
from tunelake.errors import CodeSourceError, UserInputError
from tunelake.platform.cli.main import main
from tunelake.platform.tune.slots import AUTOSCALING_VARIABLE, check_a_node_fits
from tunelake.store import catalog
from tunelake.store.lake import Lake
from tunelake.store.query import query

pytestmark = pytest.mark.slow


def rows(lake: str, sql: str, params: list | None = None) -> list[dict]:
    return query(Lake(lake), sql, params).to_pylist()


def spec(repo: Path, command: str, search: dict, **extra) -> dict:
    doc = {"code_github": str(repo), "command": command, "primary_result_key": "score", "search": search,
           "optimizer": {"algorithm": "grid", "max_concurrent_trials": 2}}
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            doc[key] = {**doc[key], **value}
        else:
            doc[key] = value
    return doc


def pgrep(pattern: str) -> list[str]:
    done = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return done.stdout.split()


def wait_gone(pattern: str, timeout: float = 15) -> list[str]:
    deadline = time.monotonic() + timeout
    while pgrep(pattern) and time.monotonic() < deadline:
        time.sleep(0.1)
    return pgrep(pattern)


def test_svm_example_through_the_cli(ray_cluster, lake_uri, capsys):
    assert main(["run", str(EXAMPLES / "svm" / "experiment.json"), "--lake", lake_uri]) == 0
    out = capsys.readouterr().out
    (exp,) = rows(lake_uri, "SELECT * FROM experiments")
    assert exp["status"] == "completed" and exp["primary_metric"] == "accuracy" and exp["num_samples"] == 12
    assert exp["experiment_id"] in out and f"{exp['best_value']:.6g}" in out
    trials = rows(lake_uri, "SELECT * FROM trials")
    assert len(trials) == 12
    assert {t["status"] for t in trials} <= {"completed", "stopped"}
    completed = [t for t in trials if t["status"] == "completed"]
    assert completed and all(0.5 < t["value"] <= 1 for t in completed)
    assert exp["best_value"] == max(t["value"] for t in completed)
    for t in completed:
        assert Path(t["model_uri"], "model.pkl").is_file()
        assert t["node"] and t["code_commit"].startswith("sha256:") and t["iterations"] == 3
    per_trial = rows(lake_uri, "SELECT trial_id, count(*) AS n, max(step) AS last FROM results GROUP BY 1")
    assert len(per_trial) == 12
    assert all(r["n"] == r["last"] for r in per_trial)
    assert {r["n"] for r in per_trial if r["trial_id"] in {t["trial_id"] for t in completed}} == {3}
    # every state change landed as its own row version: running, then the end state
    versions = rows(lake_uri, "SELECT trial_id, list(status ORDER BY version) AS s FROM trials_log GROUP BY 1")
    assert all(v["s"][0] == "running" and len(v["s"]) == 2 for v in versions)


def test_another_language_shell_and_awk(ray_cluster, lake_uri):
    result = tunelake.run(EXAMPLES / "awk" / "experiment.yaml", lake=lake_uri)
    assert result.status == "completed" and result.counts == {"completed": 6}
    assert result.best_value == result.trials["value"].min()
    assert set(result.best_params) == {"lr", "momentum"}
    steps = rows(lake_uri, "SELECT trial_id, count(*) AS n FROM results GROUP BY 1")
    assert [r["n"] for r in steps] == [8] * 6
    best = result.trials.iloc[0]
    assert Path(best["model_uri"], "weights.txt").read_text().startswith("lr=")


def test_misbehaving_trials_are_recorded_and_the_experiment_goes_on(ray_cluster, lake_uri, tmp_path):
    repo = write_repo(tmp_path / "repo", {"trial.sh": """\
        case "$1" in
          ok) echo score=1 ;;
          crash) echo score=0.5; echo "Traceback: boom" >&2; exit 1 ;;
          segv) kill -SEGV $$ ;;
          hang) sleep 131 ;;
          stubborn) trap '' TERM; sleep 132 ;;
          nometric) echo "all done, no numbers" ;;
          nan) echo score=nan ;;
          orphan) sleep 133 & echo score=2 ;;
          inf) echo score=inf ;;
          text) echo score=high ;;
        esac
        """})
    behaviours = ["ok", "crash", "segv", "hang", "stubborn", "nometric", "nan", "orphan", "inf", "text"]
    doc = spec(repo, "sh trial.sh {b}", {"b": {"type": "grid", "values": behaviours}},
               optimizer={"trial_timeout_s": 3})
    result = tunelake.run(doc, lake=lake_uri)
    assert result.status == "completed"
    got = {json.loads(t["params"])["b"]: t for t in rows(lake_uri, "SELECT * FROM trials")}
    assert set(got) == set(behaviours)
    expect = {
        "ok": ("completed", None),
        "orphan": ("completed", None),
        "crash": ("failed", "exited with code 1"),
        "segv": ("failed", "killed by SIGSEGV"),
        "hang": ("failed", "timed out after 3s"),
        "stubborn": ("failed", "timed out after 3s"),
        "nometric": ("failed", "no primary metric 'score' reported"),
        "nan": ("failed", "primary metric 'score' is nan"),
        "inf": ("failed", "primary metric 'score' is inf"),
        "text": ("failed", "no primary metric 'score' reported"),
    }
    for b, (status, reason) in expect.items():
        assert got[b]["status"] == status, (b, got[b])
        if reason:
            assert reason in got[b]["reason"], (b, got[b]["reason"], got[b]["stderr_tail"])
    assert "Traceback: boom" in got["crash"]["stderr_tail"]
    assert got["crash"]["exit_code"] == 1 and got["segv"]["signal"] == "SIGSEGV"
    assert got["crash"]["value"] == 0.5  # what it said is kept, though it failed
    assert result.best_value == 2.0
    assert wait_gone("sleep 13[123]") == []
    assert wait_for_no_leftovers(result.experiment_id) == []


def test_trial_protocol_end_to_end(ray_cluster, lake_uri, tmp_path):
    repo = write_repo(tmp_path / "repo", {"sub/probe.py": """\
        import json, os, shutil, sys
        seen = {
            "argv": sys.argv[1:],
            "params_env": json.loads(os.environ["TUNELAKE_PARAMS"]),
            "params_file": json.load(open(os.environ["TUNELAKE_PARAMS_FILE"])),
            "lr_env": os.environ["TUNELAKE_PARAM_LR"],
            "cwd": os.getcwd(),
            "trial_id": os.environ["TUNELAKE_TRIAL_ID"],
            "experiment_id": os.environ["TUNELAKE_EXPERIMENT_ID"],
            "trial_dir": os.environ["TUNELAKE_TRIAL_DIR"],
            "model_dir": os.environ["TUNELAKE_MODEL_DIR"],
            "path0": os.environ["PATH"].split(os.pathsep)[0],
            "python": shutil.which("python"),
            "token": os.environ.get("TUNELAKE_API_TOKEN"),
        }
        json.dump(seen, open(os.path.join(os.environ["TUNELAKE_MODEL_DIR"], "seen.json"), "w"))
        print(json.dumps({"score": float(sys.argv[2]), "other": 1}))
        """})
    os.environ["TUNELAKE_API_TOKEN"] = "server-secret"
    try:
        doc = spec(repo, "python probe.py {kernel} {lr} {trial_id}",
                   {"lr": {"type": "grid", "values": [0.5]}, "kernel": "rbf's"}, dir="sub",
                   model_storage={"model_dir": "out/model"})
        result = tunelake.run(doc, lake=lake_uri)
    finally:
        del os.environ["TUNELAKE_API_TOKEN"]
    (trial,) = rows(lake_uri, "SELECT * FROM trials")
    seen = json.loads(Path(trial["model_uri"], "seen.json").read_text())
    assert seen["argv"] == ["rbf's", "0.5", trial["trial_id"]]
    assert seen["params_env"] == seen["params_file"] == {"lr": 0.5, "kernel": "rbf's"}
    assert seen["lr_env"] == "0.5"
    assert seen["trial_id"] == trial["trial_id"] and seen["experiment_id"] == result.experiment_id
    assert Path(seen["cwd"]).name == "sub" and seen["model_dir"] == str(Path(seen["cwd"], "out", "model"))
    assert seen["trial_dir"].endswith(trial["trial_id"])
    assert seen["path0"] == str(Path(sys.executable).parent)
    assert Path(seen["python"]).parent == Path(sys.executable).parent
    assert seen["token"] is None
    assert json.loads(trial["metrics"]) == {"score": 0.5, "other": 1.0}


def test_asha_stops_poor_trials_and_ends_their_processes(ray_cluster, lake_uri, tmp_path):
    repo = write_repo(tmp_path / "repo", {"curve.sh": """\
        sleep 141 &
        i=1
        while [ $i -le 12 ]; do
          echo "step=$i score=$(( $1 * i ))"
          sleep 0.25
          i=$((i + 1))
        done
        """})
    doc = spec(repo, "sh curve.sh {q}", {"q": {"type": "grid", "values": [4, 3, 2, 1]}},
               optimizer={"scheduler": "asha", "grace_period": 2, "reduction_factor": 2, "max_t": 12})
    result = tunelake.run(doc, lake=lake_uri)
    got = {json.loads(t["params"])["q"]: t for t in rows(lake_uri, "SELECT * FROM trials")}
    assert got[4]["status"] == "completed" and got[4]["value"] == 48
    stopped = [q for q, t in got.items() if t["status"] == "stopped"]
    assert stopped, got
    for q in stopped:
        assert got[q]["reason"] == "stopped early by the ASHA scheduler"
        assert got[q]["iterations"] < 12
    assert result.best_value == 48
    assert wait_gone("sleep 141") == []
    assert wait_for_no_leftovers(result.experiment_id) == []


def test_install_script_runs_once_per_node_and_commit(ray_cluster, lake_uri, tmp_path):
    count = tmp_path / "installs"
    repo = write_repo(tmp_path / "repo", {"install.sh": f"echo x >> {count}\necho built > build.txt\n",
                                          "run.sh": "test -f build.txt && echo score=$1"}, git=True)
    doc = spec(repo.as_uri(), "sh run.sh {x}", {"x": {"type": "grid", "values": [1, 2, 3, 4]}},
               install_script="install.sh", code_ref="main")
    result = tunelake.run(doc, lake=lake_uri)
    assert result.counts == {"completed": 4}
    assert count.read_text() == "x\n"
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    (exp,) = rows(lake_uri, "SELECT code_commit, code_source FROM experiments")
    assert exp == {"code_commit": head, "code_source": repo.as_uri()}
    assert {t["code_commit"] for t in rows(lake_uri, "SELECT code_commit FROM trials")} == {head}
    # a new commit is prepared once more
    (repo / "run.sh").write_text("test -f build.txt && echo score=$(( $1 * 2 ))")
    commit_all(repo, "double")
    assert tunelake.run(doc, lake=lake_uri).best_value == 8
    assert count.read_text() == "x\nx\n"


def test_failing_install_is_one_experiment_error(ray_cluster, lake_uri, tmp_path):
    repo = write_repo(tmp_path / "repo", {"install.sh": "echo 'E: package libfoo not found' >&2; exit 7\n"})
    doc = spec(repo, "echo score=1 {x}", {"x": {"type": "grid", "values": [1]}}, install_script="install.sh")
    with pytest.raises(CodeSourceError, match="libfoo not found"):
        tunelake.run(doc, lake=lake_uri)
    (exp,) = rows(lake_uri, "SELECT status, error FROM experiments")
    assert exp["status"] == "failed" and "exit code 7" in exp["error"]
    assert rows(lake_uri, "SELECT * FROM trials") == []


def test_a_trial_no_node_can_hold_fails_at_once_on_a_fixed_cluster(ray_cluster, lake_uri, tmp_path, monkeypatch,
                                                                  caplog):
    """`cpus_per_trial: 64` on 2 CPUs waited at 0 of N trials forever; an autoscaling cluster only warns."""
    repo = write_repo(tmp_path / "repo", {})
    doc = spec(repo, "echo score=1 {x}", {"x": {"type": "grid", "values": [1, 2]}}, resources={"cpus_per_trial": 64})
    started = time.monotonic()
    with pytest.raises(UserInputError, match="a trial needs 64 CPUs, but no node of the Ray cluster has that much"):
        tunelake.run(doc, lake=lake_uri)
    print(f"refused after {time.monotonic() - started:.1f} s")
    (exp,) = rows(lake_uri, "SELECT status, error FROM experiments")
    assert exp["status"] == "failed" and "cpus_per_trial" in exp["error"]
    assert rows(lake_uri, "SELECT * FROM trials") == []
    monkeypatch.setenv(AUTOSCALING_VARIABLE, "1")
    with caplog.at_level(logging.WARNING, logger="tunelake.platform.tune.slots"):
        check_a_node_fits(64, 0)
    assert "waiting for the autoscaler to add a node" in caplog.text


def test_searchers_random_seeded_and_tpe_points(ray_cluster, lake_uri, tmp_path):
    repo = write_repo(tmp_path / "repo", {"f.sh": "echo score=$(awk -v a=$1 -v b=$2 'BEGIN{print -(a-0.3)^2-b}')"})
    search = {"a": {"type": "uniform", "low": 0, "high": 1}, "b": {"type": "int", "low": 0, "high": 2}}
    seeded = spec(repo, "sh f.sh {a} {b}", search, optimizer={"algorithm": "random", "num_samples": 3, "seed": 3})
    first = tunelake.run(seeded, lake=lake_uri)
    second = tunelake.run(seeded, lake=lake_uri)
    params = [sorted(map(json.dumps, r.trials["params"])) for r in (first, second)]
    assert params[0] == params[1]
    points = spec(repo, "sh f.sh {a} {b}", search,
                  optimizer={"algorithm": "tpe", "num_samples": 3, "seed": 1,
                             "points_to_evaluate": [{"a": 0.3, "b": 0}], "max_concurrent_trials": 1})
    result = tunelake.run(points, lake=lake_uri)
    assert result.best_params == {"a": 0.3, "b": 0} and result.best_value == 0
    assert all(0 <= json.loads(p)["b"] <= 2 for p in result.trials["params"])


def test_tpe_fills_the_cluster_and_a_limit_holds(ray_cluster, lake_uri, tmp_path):
    # Tune keeps one TPE trial pending at a time unless told a limit; without one these ran one by one.
    repo = write_repo(tmp_path / "repo", {"f.sh": "sleep 2; echo score=$1"})
    doc = spec(repo, "sh f.sh {x}", {"x": {"type": "uniform", "low": 0, "high": 1}},
               optimizer={"algorithm": "tpe", "num_samples": 4, "seed": 0, "max_concurrent_trials": None})
    result = tunelake.run(doc, lake=lake_uri)
    spans = sorted(zip(result.trials["started_at"], result.trials["finished_at"]))
    assert len(spans) == 4 and all(s and f for s, f in spans)
    assert any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:])), spans
    # and a limit holds for grid search too (Tune ignored it for a generator it did not make)
    one = spec(repo, "sh f.sh {x}", {"x": {"type": "grid", "values": [0.1, 0.2, 0.3]}},
               optimizer={"max_concurrent_trials": 1})
    trials = tunelake.run(one, lake=lake_uri).trials
    spans = sorted(zip(trials["started_at"], trials["finished_at"]))
    assert len(spans) == 3 and all(later[0] >= earlier[1] for earlier, later in zip(spans, spans[1:])), spans


def test_trials_shorter_than_an_actor_start_still_run_two_at_a_time(ray_cluster, lake_uri, tmp_path):
    # Tune gives a freed actor to the next trial and drops the one still starting; without the
    # start gate every one of these trials ran on the first actor, one after another.
    repo = write_repo(tmp_path / "repo", {"README": "trivial trials"})
    doc = spec(repo, "echo actor=$PPID; echo score=1", {"x": {"type": "uniform", "low": 0, "high": 1}},
               optimizer={"algorithm": "random", "num_samples": 16, "seed": 0})
    result = tunelake.run(doc, lake=lake_uri)
    assert result.counts == {"completed": 16}
    actors = [json.loads(m)["actor"] for m in result.trials["metrics"]]
    per_actor = sorted(actors.count(a) for a in set(actors))
    assert len(per_actor) == 2 and per_actor[0] >= 4, per_actor


def test_kill_9_of_the_driver_then_resume(ray_cluster, lake_uri, tmp_path):
    repo = write_repo(tmp_path / "repo", {"slow.sh": "sleep 151 & sleep 0.7; echo score=$1"})
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec(repo, "sh slow.sh {x}", {"x": {"type": "grid", "values": list(range(30))}})))
    driver = subprocess.Popen(
        [sys.executable, "-m", "tunelake", "run", str(path), "--lake", lake_uri, "--address", ray_cluster,
         "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        # Tune saves its state once at the start only, so the trials that complete afterwards are
        # unknown to it on resume: the lake must hand them back rather than run them again.
        env={**os.environ, "TUNE_GLOBAL_CHECKPOINT_S": "100000", "TUNELAKE_HEARTBEAT_S": "1"})
    deadline = time.monotonic() + 120
    done: list[dict] = []
    while time.monotonic() < deadline and len(done) < 3:
        time.sleep(0.3)
        if Path(lake_uri, "trials").exists():
            done = rows(lake_uri, "SELECT trial_id FROM trials WHERE status = 'completed'")
    assert len(done) >= 3, driver.stderr.read1().decode() if driver.poll() is not None else "too slow"
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    after = rows(lake_uri, "SELECT trial_id, status FROM trials")
    assert {r["trial_id"] for r in done} <= {r["trial_id"] for r in after if r["status"] == "completed"}
    assert all(r["status"] in ("running", "completed") for r in after)
    (exp,) = rows(lake_uri, "SELECT experiment_id, status FROM experiments")
    assert exp["status"] == "running"  # honest: nobody lived to say otherwise; readers see it `lost`
    deadline = time.monotonic() + 60
    while catalog.experiment(Lake(lake_uri), exp["experiment_id"])["status"] != "lost":
        assert time.monotonic() < deadline, "the dead driver's claim did not go stale"
        time.sleep(0.5)
    assert wait_gone("sleep 151", timeout=30) == []
    before = {r["trial_id"]: r for r in rows(lake_uri, "SELECT trial_id, version FROM trials WHERE status = 'completed'")}

    assert main(["resume", exp["experiment_id"], "--lake", lake_uri, "--quiet"]) == 0
    (after_exp,) = rows(lake_uri, "SELECT status FROM experiments")
    assert after_exp["status"] == "completed"
    final = rows(lake_uri, "SELECT trial_id, status, version, params->>'x' AS x FROM trials")
    completed = [r for r in final if r["status"] == "completed"]
    # every grid point completed exactly once; none of the completed ones ran again
    assert sorted(int(r["x"]) for r in completed) == list(range(30))
    for trial_id, row in before.items():
        assert next(r for r in final if r["trial_id"] == trial_id)["version"] == row["version"]
    assert all(r["status"] in ("completed", "failed") for r in final)
    per_step = rows(lake_uri, "SELECT trial_id, step, count(*) AS n FROM results GROUP BY 1, 2 HAVING count(*) > 1")
    assert per_step == []
    assert wait_for_no_leftovers(exp["experiment_id"]) == []


def test_gpu_trials_see_their_devices(ray_cluster, lake_uri, tmp_path):
    """The session's Ray has 2 (fake) GPUs: half a GPU per trial, and each trial sees its device."""
    repo = write_repo(tmp_path / "repo", {"gpu.sh": 'echo "score=$1"; echo "$CUDA_VISIBLE_DEVICES" > "$TUNELAKE_MODEL_DIR/cuda"'})
    doc = spec(repo, "sh gpu.sh {x}", {"x": {"type": "grid", "values": [1, 2, 3, 4]}},
               resources={"cpus_per_trial": 0.5, "gpus_per_trial": 0.5})
    result = tunelake.run(doc, lake=lake_uri)
    assert result.counts == {"completed": 4}
    seen = {Path(uri, "cuda").read_text().strip() for uri in result.trials["model_uri"]}
    assert seen and seen <= {"0", "1"}
    assert all(":" in node for node in result.trials["node"])


def test_a_trial_costs_its_share_of_its_node(ray_cluster, lake_uri, tmp_path, capsys):
    """The session's Ray says it is a g4dn.12xlarge (48 vCPUs, 4 GPUs): a trial holding half a GPU and a
    CPU pays its dominant share, 0.5 / 4 of the node's on-demand price, for its duration; the experiment
    sums its trials, and `experiments show` says so."""
    from tunelake.cluster.cost import price_table
    from tunelake.platform.cli.output import dollars

    repo = write_repo(tmp_path / "repo", {"t.sh": 'sleep 1; echo "score=$1"'})
    doc = spec(repo, "sh t.sh {x}", {"x": {"type": "grid", "values": [1, 2]}},
               resources={"cpus_per_trial": 1, "gpus_per_trial": 0.5})
    result = tunelake.run(doc, lake=lake_uri)
    assert result.counts == {"completed": 2}
    price = price_table().prices[TEST_INSTANCE_TYPE]
    for t in result.trials.itertuples():
        hours = t.duration_s / 3600
        assert (t.instance_type, t.cpus, t.gpus, t.price_table) == (TEST_INSTANCE_TYPE, 1.0, 0.5,
                                                                      "aws-us-east-1@2026-01-19")
        assert t.gpu_hours == pytest.approx(0.5 * hours) and t.cpu_hours == pytest.approx(hours)
        assert t.cost_usd == pytest.approx(0.5 / 4 * price * hours)
    row = catalog.experiment(Lake(lake_uri), result.experiment_id)
    assert row["cost_usd"] == pytest.approx(result.trials["cost_usd"].sum())
    assert (row["priced_trials"], row["price_table"]) == (2, "aws-us-east-1@2026-01-19")
    capsys.readouterr()
    assert main(["experiments", "show", result.experiment_id, "--lake", lake_uri]) == 0
    assert f"{dollars(row['cost_usd'])} on-demand (aws-us-east-1@2026-01-19 prices)" in capsys.readouterr().out


def test_warm_start_from_an_earlier_experiment_feeds_the_searcher(ray_cluster, lake_uri, tmp_path):
    from tunelake.platform.experiments.warmstart import earlier_results
    from tunelake.platform.spec import parse_spec
    from tunelake.platform.tune.searchers import make_searcher
    from tunelake.platform.tune.space import param_space

    repo = write_repo(tmp_path / "repo", {"f.sh": "echo score=$(awk -v x=$1 'BEGIN{print -(x-0.8)^2}')"})
    cold = spec(repo, "sh f.sh {x}", {"x": {"type": "uniform", "low": 0, "high": 1}, "extra": "kept-out"},
                optimizer={"algorithm": "random", "num_samples": 12, "seed": 5})
    first = tunelake.run(cold, lake=lake_uri)
    # a wider space, another parameter fixed: earlier results map by name; a value outside the range is dropped
    warm_doc = spec(repo, "sh f.sh {x}", {"x": {"type": "uniform", "low": 0, "high": 0.9}},
                    optimizer={"algorithm": "tpe", "num_samples": 4, "seed": 1, "max_concurrent_trials": 1},
                    warm_start={"experiments": [first.experiment_id]})
    warm = parse_spec(warm_doc)
    evaluated = earlier_results(Lake(lake_uri), warm)
    inside = [p for p in first.trials["params"] if json.loads(p)["x"] <= 0.9]
    assert len(evaluated) == len(inside) >= 5
    # the searcher really holds them: Optuna's study has one finished trial per earlier result
    searcher = make_searcher(warm.optimizer, [], evaluated)
    searcher.set_search_properties("tl_objective", "max", param_space(warm.search, warm.optimizer.algorithm))
    finished = [t for t in searcher._ot_study.trials if t.state.name == "COMPLETE"]
    assert sorted(t.value for t in finished) == sorted(v for _, v in evaluated)
    result = tunelake.run(warm_doc, lake=lake_uri)
    assert result.counts == {"completed": 4}
    assert len(rows(lake_uri, "SELECT * FROM trials WHERE experiment_id = ?", [result.experiment_id])) == 4
    with pytest.raises(Exception, match="optimized another metric"):
        other = dict(warm_doc, primary_result_key="loss")
        tunelake.run(other, lake=lake_uri)


def test_two_experiments_write_one_lake_at_once(ray_cluster, lake_uri, tmp_path):
    repo = write_repo(tmp_path / "repo", {"t.sh": "sleep 0.3; echo score=$1"})
    paths = []
    for name in ("left", "right"):
        path = tmp_path / f"{name}.json"
        doc = spec(repo, "sh t.sh {x}", {"x": {"type": "grid", "values": list(range(8))}}, name=name)
        path.write_text(json.dumps(doc))
        paths.append(path)
    drivers = [subprocess.Popen([sys.executable, "-m", "tunelake", "run", str(p), "--lake", lake_uri, "--address",
                                 ray_cluster, "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
               for p in paths]
    for d in drivers:
        assert d.wait(timeout=300) == 0, d.stderr.read().decode()[-2000:]
    got = rows(lake_uri, "SELECT e.name, count(*) AS n, count(DISTINCT t.params) AS p FROM trials t "
                         "JOIN experiments e USING (experiment_id) WHERE t.status = 'completed' GROUP BY 1 ORDER BY 1")
    assert got == [{"name": "left", "n": 8, "p": 8}, {"name": "right", "n": 8, "p": 8}]
    assert {r["status"] for r in rows(lake_uri, "SELECT status FROM experiments")} == {"completed"}


def test_a_model_dir_with_many_files_is_stored_whole(ray_cluster, lake_uri, tmp_path):
    repo = write_repo(tmp_path / "repo", {"many.sh": """\
        i=0
        while [ $i -lt 1500 ]; do mkdir -p "$TUNELAKE_MODEL_DIR/d$((i % 30))"; echo $i > "$TUNELAKE_MODEL_DIR/d$((i % 30))/f$i"; i=$((i+1)); done
        echo score=1
        """})
    result = tunelake.run(spec(repo, "sh many.sh {x}", {"x": {"type": "grid", "values": [1]}}), lake=lake_uri)
    (uri,) = result.trials["model_uri"]
    assert result.counts == {"completed": 1}
    assert sum(1 for p in Path(uri).rglob("f*") if p.is_file()) == 1500


@pytest.fixture
def small_disk(tmp_path):
    """Mount a 1 MiB tmpfs at a path the caller names (skipped where mounting is not allowed)."""
    mounted: list[Path] = []

    def mount(path: Path) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.decode().strip()})")
        mounted.append(path)
        return path

    yield mount
    for path in mounted:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_full_disk_in_the_trial_dir_fails_that_trial_clearly(ray_cluster, lake_uri, tmp_path, small_disk):
    cache = Path(os.environ["TUNELAKE_CACHE"])
    repo = write_repo(tmp_path / "repo", {"t.sh": """\
        if [ "$1" = fill ]; then dd if=/dev/zero of=big bs=64k count=64 2>&1 || exit 1; fi
        echo score=1
        """})
    small_disk(cache / "trials" / "diskfull")
    doc = spec(repo, "sh t.sh {b}", {"b": {"type": "grid", "values": ["ok", "fill", "after"]}},
               optimizer={"max_concurrent_trials": 1})
    result = tunelake.run(doc, lake=lake_uri, experiment_id="diskfull")
    assert result.status == "completed"
    got = {json.loads(t["params"])["b"]: t for t in rows(lake_uri, "SELECT * FROM trials")}
    assert got["ok"]["status"] == "completed" and got["after"]["status"] == "completed", {
        b: (t["status"], t["reason"]) for b, t in got.items()}
    assert got["fill"]["status"] == "failed"
    assert "exited with code 1" in got["fill"]["reason"] and "is full" in got["fill"]["reason"]
    assert "TUNELAKE_CACHE" in got["fill"]["reason"]

    big = write_repo(tmp_path / "big", {"t.sh": "echo score=1\n"})
    (big / "blob.bin").write_bytes(os.urandom(2 * 1024 * 1024))  # the working copy alone is over the disk
    small_disk(cache / "trials" / "diskfull-copy")
    result = tunelake.run(spec(big, "sh t.sh", {"x": {"type": "grid", "values": [1]}}), lake=lake_uri,
                          experiment_id="diskfull-copy")
    (trial,) = rows(lake_uri, "SELECT * FROM trials WHERE experiment_id = 'diskfull-copy'")
    assert result.status == "failed" and trial["status"] == "failed"
    assert "could not make the trial dir" in trial["reason"] and "No space left on device" in trial["reason"]
    assert "is full" in trial["reason"]


def test_meta_warm_start_runs_the_nearest_datasets_best_first(ray_cluster, lake_uri, tmp_path):
    """warm_start.meta for any program: the best point found on the earlier dataset nearest this one
    (by meta-features) is the first trial."""
    import pandas as pd

    repo = write_repo(tmp_path / "repo", {"f.sh": "echo score=$(awk -v x=$1 -v d=$2 'BEGIN{print -(x-d)^2}')"})
    grid = {"x": {"type": "grid", "values": [0.1, 0.2, 0.5, 0.8, 0.9]}}
    for name, best in (("appendicitis", 0.2), ("hepatitis", 0.8)):
        doc = spec(repo, "sh f.sh {x} {d}", {**grid, "d": best},
                   dataset={"uri": str(DATASETS / f"{name}.parquet"), "target": "target"})
        assert tunelake.run(doc, lake=lake_uri).best_params["x"] == best
    near = tmp_path / "appendicitis-again.parquet"  # the same kind of data, another file
    pd.read_parquet(DATASETS / "appendicitis.parquet").iloc[:-3].to_parquet(near)
    doc = spec(repo, "sh f.sh {x} {d}", {"x": {"type": "uniform", "low": 0, "high": 1}, "d": 0.25},
               dataset={"uri": str(near), "target": "target"}, warm_start={"meta": True, "k": 1},
               optimizer={"algorithm": "tpe", "num_samples": 2, "max_concurrent_trials": 1, "seed": 3})
    result = tunelake.run(doc, lake=lake_uri)
    first = rows(lake_uri, "SELECT params FROM trials WHERE experiment_id = ? ORDER BY started_at LIMIT 1",
                 [result.experiment_id])
    assert json.loads(first[0]["params"]) == {"x": 0.2, "d": 0.25}
