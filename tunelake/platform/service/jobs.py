"""Experiments as Ray jobs: the service and ``ray job submit`` share one path.

Each accepted spec is staged in a folder of its own, which Ray uploads as the
job's working directory; the job runs ``python -m tunelake run`` on the
cluster with the id the service assigned, so the service can answer for the
experiment before its driver has written a row.

Nothing secret reaches Ray: for a ``code_github`` URL with a ``user:password@``
the service fetches the code itself (git gets the password from a credential
helper's environment, never a file) and stages the snapshot with the spec,
which keeps the URL without it; a job's environment would not do, as Ray logs
it on the head node and returns it to anyone who lists jobs. The staging
folder is removed as soon as Ray has the package.
"""

from __future__ import annotations

import json
import os
import shlex
import tempfile
from pathlib import Path
from typing import Any

from tunelake.errors import TunelakeError
from tunelake.platform.code.source import GitSource, Snapshot, url_credentials
from tunelake.platform.code.staged import stage

PREFIX = "tunelake-"


def ray_auth_headers() -> dict[str, str]:
    """Ray's token (``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH`` or ``~/.ray/auth_token``) as a header."""
    token = os.environ.get("RAY_AUTH_TOKEN")
    path = Path(os.environ.get("RAY_AUTH_TOKEN_PATH", Path.home() / ".ray" / "auth_token"))
    if not token and path.is_file():
        token = path.read_text().strip()
    return {"Authorization": f"Bearer {token}"} if token else {}


STOP_GRACE_S = 30


class JobLauncher:
    def __init__(self, dashboard: str, lake: str, state_dir: Path) -> None:
        self.dashboard = dashboard
        self.lake = lake
        self.state_dir = state_dir
        self._client_obj: Any = None

    @property
    def _client(self) -> Any:
        if self._client_obj is None:
            from ray.job_submission import JobSubmissionClient

            try:
                self._client_obj = JobSubmissionClient(self.dashboard, headers=ray_auth_headers())
            except Exception as exc:  # Ray raises ConnectionError or RuntimeError
                raise TunelakeError(f"cannot reach the Ray cluster at {self.dashboard}: {exc}") from None
        return self._client_obj

    def submit(self, experiment_id: str, spec: dict[str, Any]) -> str:
        """``tunelake run`` of ``spec`` as a job; code whose URL holds a password is fetched here and staged.

        Blocking (git, then Ray's upload): call it from a worker thread.
        """
        command, files = ["run", "experiment.json"], {}
        url, credentials = url_credentials(spec.get("code_github") or "")
        if credentials:
            snapshot = GitSource(spec["code_github"], spec.get("code_ref"), self.state_dir).snapshot()
            spec = {**spec, "code_github": url}
            command += ["--code-snapshot", "code"]
            files = {"code": snapshot}
        return self._submit(experiment_id, command, {"experiment.json": json.dumps(spec, indent=2), **files})

    def submit_automl(self, experiment_id: str, spec: dict[str, Any]) -> str:
        """``tunelake automl`` of an AutoML spec as a job (staged as a file, like an experiment's spec)."""
        return self._submit(experiment_id, ["automl", "--spec", "automl.json"],
                            {"automl.json": json.dumps(spec, indent=2)})

    def _submit(self, experiment_id: str, command: list[str], files: dict[str, str | Snapshot]) -> str:
        """One job: its files (texts, and snapshots as folders) staged as the working directory, the id and
        lake the service chose.

        Ray packs and uploads the working directory during ``submit_job``, so the stage goes right after.
        """
        jobs = self.state_dir / "jobs"
        jobs.mkdir(parents=True, exist_ok=True)
        argv = ["python", "-m", "tunelake", *command, "--quiet", "--experiment-id", experiment_id, "--lake", self.lake]
        with tempfile.TemporaryDirectory(dir=jobs, prefix=f"{experiment_id}-") as folder:
            for name, content in files.items():
                if isinstance(content, Snapshot):
                    stage(content, Path(folder) / name)
                else:
                    (Path(folder) / name).write_text(content)
            # A stopped job's driver gets SIGTERM, then SIGKILL after this long (Ray's default is 3 s): time
            # for Tune to stop its trials and save its state, and for the driver to write how it ended.
            env_vars = {"RAY_JOB_STOP_WAIT_TIME_S": str(STOP_GRACE_S)}
            runtime_env: dict[str, Any] = {"working_dir": folder, "env_vars": env_vars}
            return self._client.submit_job(entrypoint=shlex.join(argv), submission_id=PREFIX + experiment_id,
                                           runtime_env=runtime_env)

    def status(self, experiment_id: str) -> str | None:
        try:
            return str(self._client.get_job_status(PREFIX + experiment_id).value)
        except RuntimeError:
            return None

    def logs(self, experiment_id: str) -> str | None:
        try:
            return self._client.get_job_logs(PREFIX + experiment_id)
        except RuntimeError:
            return None

    def stop(self, experiment_id: str) -> bool:
        try:
            return bool(self._client.stop_job(PREFIX + experiment_id))
        except RuntimeError:
            return False

    def submitted(self) -> dict[str, str]:
        """Experiment id to job status, for every job this service submitted."""
        return {
            job.submission_id.removeprefix(PREFIX): str(job.status.value)
            for job in self._client.list_jobs()
            if job.submission_id and job.submission_id.startswith(PREFIX)
        }
