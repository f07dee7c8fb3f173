"""LiteLLM's proxy, in its own virtual environment under bench/.work/ (installed once from the
package index, reused after), configured with one model on the fake upstream, no database, and
logging turned down."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.gateway.contenders import (
    API_KEY,
    MODEL,
    PROXY_CORE,
    Process,
    free_port,
    launch,
    wait_ready,
)

SPEC = "litellm[proxy]"
CONFIG = """\
model_list:
  - model_name: {model}
    litellm_params:
      model: openai/{model}
      api_base: {upstream}/v1
      api_key: sk-upstream
litellm_settings:
  set_verbose: false
  json_logs: false
general_settings:
  master_key: {key}
"""
# No network at run time: the bundled cost map instead of fetching it, no telemetry, few logs.
ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False"}


@dataclass(frozen=True)
class Install:
    """Where LiteLLM's proxy is, and which version; or why it is not there."""

    executable: Path | None
    version: str = ""
    problem: str = ""


def ensure(work: Path, *, log: Path) -> Install:
    """The venv at `work`/litellm-venv with `litellm[proxy]` in it, made if missing."""
    venv = work / "litellm-venv"
    python = venv / "bin" / "python"
    executable = venv / "bin" / "litellm"
    if not executable.exists():
        print(f"installing {SPEC} into {venv} (once; log: {log})", file=sys.stderr, flush=True)
        with log.open("ab") as out:
            steps = [
                [sys.executable, "-m", "venv", str(venv)],
                [str(python), "-m", "pip", "install", "--quiet", SPEC],
            ]
            for step in steps:
                if subprocess.run(step, stdout=out, stderr=subprocess.STDOUT).returncode != 0:
                    return Install(None, problem=f"`{' '.join(step[-3:])}` failed (see {log})")
    if not executable.exists():
        return Install(None, problem=f"no litellm command in {venv}")
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"]
    found = subprocess.run(probe, capture_output=True, text=True)
    return Install(executable, version=found.stdout.strip())


def start(install: Install, workdir: Path, upstream: str) -> Process:
    """`litellm --config ...` with one worker on the proxy core."""
    assert install.executable is not None
    config = workdir / "litellm.yaml"
    config.write_text(CONFIG.format(model=MODEL, upstream=upstream, key=API_KEY))
    port = free_port()
    cmd = [str(install.executable), "--config", str(config), "--port", str(port)]
    cmd += ["--host", "127.0.0.1", "--num_workers", "1", "--telemetry", "False"]
    started = time.perf_counter()
    proxy = launch("litellm", cmd, port=port, core=PROXY_CORE, log=workdir / "litellm.log", env=ENV)
    proxy.ready_s = wait_ready(proxy, started, timeout=180)
    return proxy
