"""`make helm-check`: lint, render and validate the Helm chart offline; non-zero exit on any failure.

Per case (default values, the production/GPU example, an existing Secret): `helm lint --strict`,
`helm template`, every built-in object validated with kubernetes-validate (strict schemas), Ray pod
templates validated as Pods, the KubeRay objects checked structurally, `serveConfigV2` validated with Ray
Serve's own schema and the application's `ServeArgs`, and the contract between the objects (names,
addresses, env, Secret keys, probes, security) asserted. Then values the chart must reject are tried.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helm_tools import (
    ROOT,
    SHARED_ENV,
    HelmToolsError,
    Report,
    check_env,
    check_pod,
    check_ray_cluster,
    check_serve_config,
    ensure_helm,
    env_of,
    helm_env,
)

CHART = ROOT / "helm" / "logsynergy"
PRODUCTION = ROOT / "helm" / "examples" / "values-production-gpu.yaml"
RELEASE = "logsynergy"  # release name == fullname, so the expected object names are fixed below
SECRET, API, TRAIN, DETECT = RELEASE, f"{RELEASE}-api", f"{RELEASE}-train", f"{RELEASE}-detect"
PG, MINIO = f"{RELEASE}-postgresql", f"{RELEASE}-minio"
RAY_KINDS = ("RayCluster", "RayService")
RAY_NAME_LIMITS = {"RayCluster": 53, "RayService": 47}  # KubeRay's validation (room for its suffixes)
DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
API_ENV = ("LOGSYNERGY_DATA_DIR", "LOGSYNERGY_API_HOST", "LOGSYNERGY_API_PORT", "LOGSYNERGY_DATABASE_URL",
           "LOGSYNERGY_RAY_ADDRESS", "LOGSYNERGY_SERVE_URL", "LOGSYNERGY_BOOTSTRAP_API_KEY",
           "LOGSYNERGY_MAX_RUNNING_JOBS", *SHARED_ENV)  # fmt: skip
SECRET_KEYS = {"database-url", "store-access-key", "store-secret-key", "bootstrap-api-key", "llm-api-key"}


@dataclass
class Case:
    name: str
    args: list[str]
    bundled: bool  # PostgreSQL and MinIO in the cluster (else external endpoints)
    gpu: bool = False
    secret: str = SECRET  # the Secret the pods read; rendered by the chart only when == SECRET
    external: dict[str, Any] = field(default_factory=dict)


def cases() -> list[Case]:
    prod = yaml.safe_load(PRODUCTION.read_text())["external"]
    return [
        Case("default", [], bundled=True),
        Case("production-gpu", ["-f", str(PRODUCTION)], bundled=False, gpu=True, external=prod),
        Case(
            "existing-secret",
            ["--set", "secrets.existingSecret=logsynergy-creds"],
            True,
            secret="logsynergy-creds",
        ),
    ]


REJECTED = [  # values the chart must refuse, and a word its error must contain
    (["--set", "training.cpuWorkers.minReplicas=5"], "minReplicas"),
    (["--set", "postgresql.enabled=false"], "external.database.url"),
    (["--set", "minio.enabled=false"], "external.store.endpoint"),
    (["--set", "serving.upgradeStrategy=Sometimes"], "upgradeStrategy"),
    (["--set", "api.podSecurityContext.runAsNonRoot=false"], "runAsNonRoot"),
]


def helm(binary: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(binary), *args], capture_output=True, text=True, env=helm_env(), check=False)


def first(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any] | None:
    return next((d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name), None)


def check_set(report: Report, case: Case, docs: list[dict[str, Any]], kube: str) -> None:
    """The objects the platform needs, and how they refer to one another."""
    names = Counter((d["kind"], d["metadata"]["name"]) for d in docs)
    report.check(max(names.values()) == 1, f"duplicate objects: {[k for k, n in names.items() if n > 1]}")
    for doc in docs:
        report.check(len(doc["metadata"]["name"]) <= 63, f"{doc['metadata']['name']}: name over 63 chars")
    secret = first(docs, "Secret", SECRET)
    if case.secret == SECRET and report.check(secret is not None, f"Secret {SECRET} missing"):
        data = secret.get("stringData") or {}
        report.check(set(data) >= SECRET_KEYS, f"Secret lacks keys {sorted(SECRET_KEYS - set(data))}")
        if case.bundled:
            url = data.get("database-url", "")
            report.check(
                f"@{PG}:5432/" in url and url.startswith("postgresql+psycopg://"), f"database-url {url}"
            )
        else:
            report.check(
                data.get("database-url") == case.external["database"]["url"], "external database-url"
            )
            report.check(data.get("store-access-key") == case.external["store"]["accessKey"], "external keys")
    if case.secret != SECRET:
        report.check(not any(d["kind"] == "Secret" for d in docs), "a Secret rendered despite existingSecret")
    for kind, name in (("StatefulSet", PG), ("Service", PG), ("StatefulSet", MINIO), ("Service", MINIO)):
        present = first(docs, kind, name) is not None
        report.check(present == case.bundled, f"{kind} {name}: {'missing' if case.bundled else 'unexpected'}")
    deploy, service = first(docs, "Deployment", API), first(docs, "Service", API)
    if report.check(deploy is not None and service is not None, "API Deployment or Service missing"):
        pod = deploy["spec"]["template"]
        check_pod(report, f"Deployment {API}", pod["spec"], kube)
        api = next(c for c in pod["spec"]["containers"] if c["name"] == "api")
        report.check(api.get("command") == ["logsynergy", "api"], f"API command {api.get('command')}")
        check_env(report, "API", api, API_ENV, case.secret)
        env = {k: v.get("value") for k, v in env_of(api).items()}
        report.check(
            env.get("LOGSYNERGY_API_PORT") == "8080" and env.get("LOGSYNERGY_API_HOST") == "0.0.0.0", "host"
        )
        report.check(
            env.get("LOGSYNERGY_RAY_ADDRESS") == f"http://{TRAIN}-head-svc:8265", "LOGSYNERGY_RAY_ADDRESS"
        )
        report.check(
            env.get("LOGSYNERGY_SERVE_URL") == f"http://{DETECT}-serve-svc:8000", "LOGSYNERGY_SERVE_URL"
        )
        endpoint = f"{MINIO}:9000" if case.bundled else case.external["store"]["endpoint"]
        report.check(env.get("LOGSYNERGY_STORE_ENDPOINT") == endpoint, f"store endpoint {endpoint} expected")
        secure = "false" if case.bundled else str(case.external["store"]["secure"]).lower()
        report.check(env.get("LOGSYNERGY_STORE_SECURE") == secure, "LOGSYNERGY_STORE_SECURE")
        report.check(env.get("LOGSYNERGY_STORE_URL", "").startswith("s3://"), "LOGSYNERGY_STORE_URL")
        ports = {p["name"]: p["containerPort"] for p in api.get("ports", [])}
        report.check(ports.get("http") == 8080, "API container port http/8080")
        for probe in ("livenessProbe", "readinessProbe"):
            get = (api.get(probe) or {}).get("httpGet") or {}
            report.check(get.get("path") == "/healthz" and get.get("port") in ("http", 8080), f"API {probe}")
        labels = pod["metadata"]["labels"]
        selector = service["spec"]["selector"]
        report.check(selector.items() <= labels.items(), "API Service does not select the API pods")
        report.check(service["spec"]["ports"][0]["targetPort"] in ("http", 8080), "API Service targetPort")
        pdb = first(docs, "PodDisruptionBudget", API)
        if report.check(pdb is not None, "API PodDisruptionBudget missing"):
            match = pdb["spec"]["selector"]["matchLabels"]
            report.check(match.items() <= labels.items(), "PDB does not select the API pods")
    cluster, service_cr = first(docs, "RayCluster", TRAIN), first(docs, "RayService", DETECT)
    if report.check(cluster is not None, f"RayCluster {TRAIN} missing"):
        groups = check_ray_cluster(report, f"RayCluster {TRAIN}", cluster["spec"], kube, case.secret)
        report.check(
            ("gpu" in groups) == case.gpu, f"GPU worker group {'missing' if case.gpu else 'unexpected'}"
        )
        if case.gpu:
            gpu = next(g for g in cluster["spec"]["workerGroupSpecs"] if g["groupName"] == "gpu")
            limits = gpu["template"]["spec"]["containers"][0]["resources"]["limits"]
            report.check("nvidia.com/gpu" in limits, "GPU group without an nvidia.com/gpu limit")
    if report.check(service_cr is not None, f"RayService {DETECT} missing"):
        spec = service_cr["spec"]
        report.check(bool(spec.get("rayClusterConfig")), "RayService: rayClusterConfig missing")
        check_ray_cluster(
            report, f"RayService {DETECT}", spec.get("rayClusterConfig") or {}, kube, case.secret
        )
        check_serve_config(report, spec.get("serveConfigV2"))
    for doc in docs:
        if doc["kind"] in RAY_KINDS:
            report.check(doc["apiVersion"] == "ray.io/v1", f"{doc['kind']}: apiVersion {doc['apiVersion']}")
            name, limit = doc["metadata"]["name"], RAY_NAME_LIMITS[doc["kind"]]
            report.check(
                len(name) <= limit and DNS1035.match(name) is not None, f"KubeRay rejects name {name}"
            )
        if doc["kind"] == "Ingress":
            paths = [p for rule in doc["spec"]["rules"] for p in rule["http"]["paths"]]
            backends = {p["backend"]["service"]["name"] for p in paths}
            report.check(backends <= {API, f"{DETECT}-serve-svc"}, f"Ingress backends {sorted(backends)}")


def check_notes(report: Report, notes: str) -> None:
    """NOTES.txt tells how to reach the API, the Ray dashboard and the detection endpoint."""
    report.check("NOTES:" in notes, "no NOTES rendered by helm install --dry-run=client")
    text = notes.split("NOTES:", 1)[-1]
    report.check(f"svc/{API} " in text or "https://" in text, "NOTES: no way to reach the API")
    report.check(f"svc/{TRAIN}-head-svc 8265:8265" in text, "NOTES: no way to reach the Ray dashboard")
    report.check("/v1/detect/" in text, "NOTES: no way to reach the detection endpoint")


def run_case(binary: Path, chart: Path, case: Case, kube: str) -> Report:
    report = Report(case.name)
    lint = helm(binary, "lint", "--strict", "--kube-version", kube, str(chart), *case.args)
    if not report.check(lint.returncode == 0, f"helm lint --strict failed:\n{lint.stdout}{lint.stderr}"):
        return report
    out = helm(binary, "template", RELEASE, str(chart), "--kube-version", kube, *case.args)
    if not report.check(out.returncode == 0, f"helm template failed:\n{out.stderr}"):
        return report
    try:
        docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    except yaml.YAMLError as error:
        report.check(False, f"rendered output is not YAML: {error}")
        return report
    report.kinds.update(d.get("kind", "?") for d in docs)
    for doc in docs:
        if doc.get("kind") in RAY_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, kube, strict=True)
            report.check(True, "")
        except kubernetes_validate.ValidationError as error:
            where = "/".join(map(str, error.path))
            report.check(
                False, f"{doc['kind']}/{doc['metadata']['name']} invalid at {where}: {error.message}"
            )
        except kubernetes_validate.SchemaNotFoundError as error:
            report.check(False, error.message)
    check_set(report, case, docs, kube)
    notes = helm(
        binary, "install", RELEASE, str(chart), "--dry-run=client", "--namespace", "check", *case.args
    )
    check_notes(report, notes.stdout)
    return report


def run_rejections(binary: Path, chart: Path, kube: str) -> Report:
    report = Report("rejected values")
    for args, word in REJECTED:
        out = helm(binary, "template", RELEASE, str(chart), "--kube-version", kube, *args)
        report.check(
            out.returncode != 0 and word in out.stderr, f"{' '.join(args)}: not rejected (or no {word!r})"
        )
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kube-version", default="1.31.0", help="Kubernetes version of the schemas")
    parser.add_argument("--chart", type=Path, default=CHART, help="chart directory (default: %(default)s)")
    options = parser.parse_args()
    kube, chart = options.kube_version, options.chart.resolve()
    start = time.monotonic()
    try:
        binary = ensure_helm()
    except HelmToolsError as error:
        print(f"helm-check: {error}", file=sys.stderr)
        return 2
    version = helm(binary, "version", "--short").stdout.strip()
    schemas = f"Kubernetes {kube} strict schemas (kubernetes-validate {kubernetes_validate.__version__})"
    print(f"helm-check: helm {version} ({binary.relative_to(ROOT)}), chart {chart}, {schemas}")
    reports = [run_case(binary, chart, case, kube) for case in cases()] + [
        run_rejections(binary, chart, kube)
    ]
    for report in reports:
        status = "ok" if not report.failures else f"FAILED ({len(report.failures)})"
        print(f"  {report.case:<16} {report.checks:>4} checks  {status}")
        if report.kinds:
            print("      " + ", ".join(f"{kind} {n}" for kind, n in sorted(report.kinds.items())))
        for failure in report.failures:
            print(f"      - {failure}")
    failed = sum(len(r.failures) for r in reports)
    verdict = "PASS" if not failed else f"FAIL: {failed} problem(s)"
    print(f"helm-check: {verdict} in {time.monotonic() - start:.1f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
