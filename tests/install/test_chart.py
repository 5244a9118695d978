"""The chart renders, lints, and every object it renders is valid Kubernetes."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest
import yaml

from .chart import CHART, CRD, chart_crds, containers, find, notes, objects, one, pod_spec
from .conftest import NON_DEFAULT, SQLITE

KUBE_VERSION = "1.30.0"
PROMETHEUS_OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule"}
"""No schema for these ships with kubernetes-validate; they get structural checks below."""
RECOMMENDED = ("app.kubernetes.io/name", "app.kubernetes.io/instance",
               "app.kubernetes.io/version", "app.kubernetes.io/part-of",
               "app.kubernetes.io/managed-by")
STABLE = {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component"}


def test_lint_is_clean_for_each_value_set(values: dict[str, Any]) -> None:
    report = helm.lint(CHART, values, strict=True, kube_version=f"v{KUBE_VERSION}")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not report["errors"] and not problems, report


def test_every_object_validates_against_the_kubernetes_schemas(values: dict[str, Any]) -> None:
    for obj in objects(values):
        if obj["kind"] in PROMETHEUS_OPERATOR_KINDS:
            continue
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)


def test_the_crd_validates_against_apiextensions_and_matches_the_controllers() -> None:
    (crd,) = chart_crds()
    kubernetes_validate.validate(crd, KUBE_VERSION, strict=True)
    assert crd == yaml.safe_load(CRD.read_text()), "helm/.../crds/course.yaml is out of date"


def test_default_render_has_the_expected_objects() -> None:
    kinds = sorted(o["kind"] for o in objects())
    assert kinds == sorted([
        "ConfigMap", "Deployment", "PodDisruptionBudget", "Pod", "Role", "Role",
        "RoleBinding", "RoleBinding", "Service", "ServiceAccount", "ServiceAccount"])


def test_image_is_pinned_and_never_latest(values: dict[str, Any]) -> None:
    objs = objects(values)
    images = [c["image"] for o in objs if o["kind"] in ("Deployment", "Pod") for c in containers(o)]
    images.append(one(objs, "ConfigMap")["data"]["COURSE_WORKER_IMAGE"])
    for image in images:
        _, _, tag = image.rpartition(":")
        assert tag and tag != "latest" and "/" not in tag, image


def test_recommended_labels_everywhere_and_selectors_on_stable_labels(
        values: dict[str, Any]) -> None:
    for obj in objects(values):
        labels = obj["metadata"]["labels"]
        assert all(key in labels for key in RECOMMENDED), (obj["kind"], labels)
        selector = _selector(obj)
        if selector is not None:
            assert selector and set(selector) <= STABLE, (obj["kind"], selector)
    deployment = one(objects(values), "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def _selector(obj: dict[str, Any]) -> dict[str, str] | None:
    spec = obj.get("spec") or {}
    if obj["kind"] == "Service":
        return dict(spec["selector"])
    if obj["kind"] in ("Deployment", "PodDisruptionBudget", "ServiceMonitor"):
        return dict(spec["selector"]["matchLabels"])
    if obj["kind"] == "NetworkPolicy":
        return dict(spec["podSelector"]["matchLabels"])
    return None


def test_deployment_probes_the_health_endpoint_and_sets_resources() -> None:
    deployment = one(objects(), "Deployment")
    (controller,) = pod_spec(deployment)["containers"]
    ports = {p["name"]: p["containerPort"] for p in controller["ports"]}
    assert ports == {"metrics": 8080, "health": 8081}
    for probe in ("livenessProbe", "readinessProbe"):
        assert controller[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert controller["resources"]["requests"] and controller["resources"]["limits"]
    assert controller["command"] == ["course-controller", "run"]
    (migrate,) = pod_spec(deployment)["initContainers"]
    assert migrate["command"] == ["course-controller", "migrate"]


def test_settings_come_from_the_configmap_and_the_url_from_a_secret() -> None:
    objs = objects(NON_DEFAULT)
    config = one(objs, "ConfigMap")["data"]
    assert config["COURSE_GLOBAL_LIMIT"] == "20" and config["COURSE_PER_USER_LIMIT"] == "5"
    assert yaml.safe_load(config["COURSE_PER_USER_LIMITS"]) == {"alice": 8}
    assert config["COURSE_SWEEP_INTERVAL"] == "2" and config["COURSE_ALL_NAMESPACES"] == "true"
    assert config["COURSE_WORKER_IMAGE"] == "registry.example/course-worker:0.2.1"
    assert config["COURSE_WORKER_SERVICE_ACCOUNT"] == "video-worker"
    assert yaml.safe_load(config["COURSE_WORKER_RESOURCES"]) == {
        "requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
    secret = one(objs, "Secret")
    assert secret["stringData"]["url"].startswith("postgresql+psycopg://")
    env = {e["name"]: e for e in pod_spec(one(objs, "Deployment"))["containers"][0]["env"]}
    assert env["COURSE_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": secret["metadata"]["name"], "key": "url"}
    assert one(objs, "Deployment")["spec"]["replicas"] == 3


def test_default_database_url_comes_from_an_existing_secret() -> None:
    objs = objects()
    assert not find(objs, "Secret")
    env = pod_spec(one(objs, "Deployment"))["containers"][0]["env"]
    assert env[0]["valueFrom"]["secretKeyRef"] == {
        "name": "course-controller-database", "key": "url"}
    assert "kubectl -n course-system create secret generic course-controller-database" in notes()


def test_sqlite_forces_one_replica_on_a_claim_and_a_writable_tmp() -> None:
    objs = objects(SQLITE)
    deployment = one(objs, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    spec = pod_spec(deployment)
    volumes = {v["name"]: v for v in spec["volumes"]}
    claim = one(objs, "PersistentVolumeClaim")
    assert volumes["sqlite"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    for container in containers(deployment):
        env = {e["name"]: e for e in container["env"]}
        assert env["COURSE_DATABASE_URL"]["value"].startswith("sqlite:////var/lib/")
        assert {m["mountPath"] for m in container["volumeMounts"]} == {
            "/var/lib/course-controller", "/tmp"}
    assert one(objs, "ConfigMap")["data"]["COURSE_NAMESPACES"] == "team-a,team-b"


def test_monitoring_objects_carry_extra_labels_and_scrape_the_metrics_port() -> None:
    objs = objects(NON_DEFAULT)
    monitor = one(objs, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    service = one(objs, "Service")
    assert service["spec"]["ports"][0]["name"] == "metrics"
    rule = one(objs, "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "prometheus"
    alerts = {r["alert"]: r for r in rule["spec"]["groups"][0]["rules"]}
    assert set(alerts) == {"CourseModulesStuck", "CourseSweeperStalled", "CourseControllerDown",
                           "CourseFailureRateHigh", "CourseModulesWithoutJob"}
    for alert in alerts.values():
        assert 'namespace="course-system", job="courses"' in alert["expr"]
        assert alert["labels"]["team"] == "learning" and alert["annotations"]["summary"]
        assert alert["expr"].count("(") == alert["expr"].count(")")


def test_network_policy_admits_scrapers_and_probes_only() -> None:
    policy = one(objects(NON_DEFAULT), "NetworkPolicy")
    ingress = policy["spec"]["ingress"]
    assert ingress[0]["from"][0] == {"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}
    assert [r["ports"][0]["port"] for r in ingress] == ["metrics", "health"]
    egress_ports = {p["port"] for r in policy["spec"]["egress"] for p in r["ports"]}
    assert egress_ports == {53, 443, 6443, 5432}


def test_helm_test_pod_checks_the_controllers_metrics() -> None:
    pod = one(objects(), "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    (container,) = pod["spec"]["containers"]
    assert container["command"][-1] == "http://course-controller.course-system.svc:8080/metrics"
    assert "course_controller_" in container["command"][2]


@pytest.mark.parametrize(("values", "message"), [
    ({"controller": {"sweepInterval": 30, "leaseSeconds": 60}},
     "controller.leaseSeconds (60) must be at least 3x controller.sweepInterval (30)"),
    ({"metrics": {"service": {"enabled": False}, "serviceMonitor": {"enabled": True}}},
     "metrics.serviceMonitor.enabled needs metrics.service.enabled"),
    ({"database": {"url": "postgresql://x@y/z", "existingSecret": {"name": "db"}}},
     "set either database.url or database.existingSecret.name"),
])
def test_incoherent_values_fail_the_render_with_a_message(
        values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmRenderError, match=message.replace("(", r"\(").replace(")", r"\)")):
        objects(values)


def test_example_course_validates_against_the_crd_schema() -> None:
    (crd,) = chart_crds()
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path in ("examples/course.yaml", "manifests/course.yaml"):
        course = yaml.safe_load((CHART.parents[1] / path).read_text())
        jsonschema.validate(course, schema)
