"""The Helm chart, rendered and linted by Helm's own engine (helm-python-sdk bundles Helm's Go SDK),
every manifest validated against the Kubernetes OpenAPI schemas (kubernetes-validate, strict), and
each rendered pod's environment loaded by the real service's settings class.
"""

from __future__ import annotations

import copy
import importlib
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from executor.client_ids import ClientIdFactory
from md_gateway.sharding import parse_shard, shard_symbols
from mm_runtime.bus_auth import SERVICE_USERS, prepare_bus_credentials
from mm_runtime.nats_server import find_binary
from mm_runtime.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "k8s" / "mm"
KUBERNETES_VERSION = "1.30.0"  # the oldest we support (pod-index label: 1.28+)
DEFAULTS = yaml.safe_load((CHART / "values.yaml").read_text())
PRODUCTION = yaml.safe_load((CHART / "values-production.yaml").read_text())
LEASE = yaml.safe_load((CHART / "values-lease.yaml").read_text())
VALUE_SETS = {"default": {}, "production": PRODUCTION, "lease": LEASE}
SETTINGS_CLASSES = {
    "md_gateway": ("md_gateway.settings", "GatewaySettings"),
    "quoter": ("quoter.settings", "QuoterSettings"),
    "risk": ("risk.settings", "RiskSettings"),
    "executor": ("executor.settings", "ExecutorSettings"),
    "ledger": ("ledger.settings", "LedgerSettings"),
    "recorder": ("recorder.settings", "RecorderSettings"),
    "policy": ("policy.settings", "PolicySettings"),
}
OPERATOR_KINDS = {"ServiceMonitor"}  # CRDs of the Prometheus operator: no schema in the package


def render(values: dict[str, Any], name: str = "mm") -> list[dict[str, Any]]:
    """Every manifest of the chart rendered for `values` (merged over values.yaml by Helm)."""
    chart = helm.Chart.load(CHART)
    files = chart.render(values, name=name, namespace="trading", is_install=True)
    documents = []
    for path, text in files.items():
        if path.endswith(".yaml"):
            documents += [item for item in yaml.safe_load_all(text) if item]
    return documents


def by_kind(manifests: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [item for item in manifests if item["kind"] == kind]


def component(item: dict[str, Any]) -> str:
    return str(item["metadata"]["labels"]["app.kubernetes.io/component"])


def workloads(manifests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The services' Deployments and StatefulSets by service (their component label, '-' back
    to '_'); the chart's NATS StatefulSet and the rollout controller are not services."""
    found = {}
    for item in manifests:
        kind, name = item["kind"], component(item)
        if kind in {"Deployment", "StatefulSet"} and name not in {"nats", "rollout"}:
            found[component(item).replace("-", "_")] = item
    return found


def merged(values: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(DEFAULTS)
    _merge(result, values)
    return result


def _merge(target: dict[str, Any], override: dict[str, Any]) -> None:
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


@pytest.mark.parametrize("values_name", VALUE_SETS)
def test_lint_is_clean(values_name: str) -> None:
    report = helm.lint(
        CHART, VALUE_SETS[values_name], strict=True, kube_version=f"v{KUBERNETES_VERSION}"
    )
    problems = [message for message in report["messages"] if message["severity"] >= 2]
    assert problems == []
    assert report["errors"] == []


def test_lint_reports_a_broken_template(tmp_path: Path) -> None:
    broken = tmp_path / "mm"
    shutil.copytree(CHART, broken)
    services = broken / "templates" / "services.yaml"
    services.write_text(services.read_text().replace("clusterIP: None", "{{ .Values.nope.x }}"))
    report = helm.lint(broken, {}, strict=True, kube_version=f"v{KUBERNETES_VERSION}")
    assert any("nil pointer evaluating" in error for error in report["errors"])


@pytest.mark.parametrize("values_name", VALUE_SETS)
def test_every_manifest_is_valid_kubernetes(values_name: str) -> None:
    manifests = render(VALUE_SETS[values_name])
    assert len(manifests) >= 12
    for manifest in manifests:
        if manifest["kind"] in OPERATOR_KINDS:
            with pytest.raises(kubernetes_validate.SchemaNotFoundError):
                kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
            continue
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_validator_refuses_a_broken_manifest() -> None:
    """The validation above has teeth: a misspelt field and a wrong type are refused."""
    deployment = workloads(render({}))["risk"]
    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["template"]["spec"]["terminationGracePeriod"] = 10
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, KUBERNETES_VERSION, strict=True)
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "one"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong_type, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"services": {"risk": {"resources": "lots"}}}, "got string, want object"),
        ({"services": {"risk": {"replicas": 2}}}, "maximum: got 2, want 1"),
        ({"drainSeconds": 30}, "maximum: got 30, want 10"),
        ({"symbols": ["BTC USDT"]}, "does not match pattern"),
        ({"nats": {"url": "http://nats:4222"}}, "does not match pattern"),
        ({"services": {"quoter": {"symbolShards": [[]]}}}, "minItems"),
        ({"services": {"executor": {"lease": {"ttlSeconds": 0}}}}, "exclusiveMinimum"),
        (
            {"services": {"executor": {"lease": {"enabled": True}, "symbolShards": [["BTCUSDT"]]}}},
            "exclude each other",
        ),
    ],
)
def test_bad_values_are_refused_by_the_render(values: dict[str, Any], reason: str) -> None:
    """values.schema.json: Helm refuses values the services would refuse (or mis-deploy)."""
    with pytest.raises(helm.HelmError, match=reason):
        render(values)


@pytest.mark.parametrize("values_name", VALUE_SETS)
def test_each_service_has_probes_grace_and_disruption_budget(values_name: str) -> None:
    values = merged(VALUE_SETS[values_name])
    manifests = render(VALUE_SETS[values_name])
    found = workloads(manifests)
    assert set(found) == set(SERVICE_USERS)
    budgets = {item["metadata"]["name"] for item in by_kind(manifests, "PodDisruptionBudget")}
    for service, workload in found.items():
        pod = workload["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert pod["terminationGracePeriodSeconds"] > values["drainSeconds"]
        assert workload["metadata"]["name"] in budgets, service
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["resources"]["limits"]["memory"]


@pytest.mark.parametrize("values_name", VALUE_SETS)
def test_secrets_are_files_never_values(values_name: str) -> None:
    manifests = render(VALUE_SETS[values_name])
    secret_name = re.compile(r"(PASSWORD|SECRET|API_KEY)$")
    for workload in workloads(manifests).values():
        pod = workload["spec"]["template"]["spec"]
        for variable in pod["containers"][0]["env"]:
            assert not secret_name.search(variable["name"]), variable["name"]
        secrets = [volume["secret"] for volume in pod["volumes"] if "secret" in volume]
        assert secrets, workload["metadata"]["name"]
    for config_map in by_kind(manifests, "ConfigMap"):
        for key in config_map["data"]:
            assert not secret_name.search(key), key
    assert by_kind(manifests, "Secret") == []  # the chart mounts Secrets, it never holds them


def test_each_pod_mounts_only_its_own_bus_password() -> None:
    for service, workload in workloads(render({})).items():
        volumes = workload["spec"]["template"]["spec"]["volumes"]
        bus = next(volume for volume in volumes if volume["name"] == "bus-credentials")
        assert bus["secret"]["items"] == [{"key": f"{service}.password", "path": "password"}]


def test_optional_resources_follow_values() -> None:
    default, production = render({}), render(PRODUCTION)
    assert by_kind(default, "ServiceMonitor") == []
    assert by_kind(default, "NetworkPolicy") == []
    monitors = by_kind(production, "ServiceMonitor")
    assert len(monitors) == len(SERVICE_USERS)
    assert {
        monitor["spec"]["endpoints"][0]["relabelings"][0]["replacement"] for monitor in monitors
    } == set(SERVICE_USERS)
    policies = by_kind(production, "NetworkPolicy")
    assert sorted(component(policy) for policy in policies) == sorted(
        [*(name.replace("_", "-") for name in SERVICE_USERS), "nats"]
    )


@pytest.mark.parametrize("values_name", VALUE_SETS)
def test_one_rollout_controller_runs_as_the_operator_on_every_nats_node(values_name: str) -> None:
    """`mm rollout run` as one Recreate replica, with only the operator's password mounted where
    `--bus-dir` reads it, the default look interval (the quoter's default bound) and the same bus
    URL as the services; it can be turned off."""
    manifests = render(VALUE_SETS[values_name])
    (controller,) = [
        item for item in by_kind(manifests, "Deployment") if component(item) == "rollout"
    ]
    spec = controller["spec"]
    assert (spec["replicas"], spec["strategy"]["type"]) == (1, "Recreate")
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    command = container["command"]
    assert command[:5] == ["python", "-m", "mm_cli", "rollout", "run"]
    assert "--interval" not in command
    bus_dir = command[command.index("--bus-dir") + 1]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "bus-credentials")
    assert mount == {"name": "bus-credentials", "mountPath": bus_dir, "readOnly": True}
    volume = next(v for v in pod["volumes"] if v["name"] == "bus-credentials")
    assert volume["secret"]["items"] == [{"key": "operator.password", "path": "operator.password"}]
    quoter = workloads(manifests)["quoter"]
    config_maps = {m["metadata"]["name"]: m["data"] for m in by_kind(manifests, "ConfigMap")}
    quoter_config = config_maps[quoter["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]
                                ["configMapRef"]["name"]]  # fmt: skip
    assert command[command.index("--nats") + 1] == quoter_config["QUOTER_NATS__URL"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    off = render({**VALUE_SETS[values_name], "rolloutController": {"enabled": False}})
    assert [item for item in off if component(item) == "rollout"] == []


def test_sharded_services_are_statefulsets_partitioning_the_symbols() -> None:
    values = merged(PRODUCTION)
    manifests = render(PRODUCTION)
    found = workloads(manifests)
    assert found["risk"]["kind"] == "Deployment"
    assert found["risk"]["spec"]["replicas"] == 1
    assert found["risk"]["spec"]["strategy"]["type"] == "Recreate"
    for single in ("ledger", "recorder"):
        spec = found[single]["spec"]
        assert (spec["replicas"], spec["strategy"]["type"]) == (1, "Recreate"), single
    for service in ("quoter", "executor"):
        shards = values["services"][service]["symbolShards"]
        assert found[service]["kind"] == "StatefulSet"
        assert found[service]["spec"]["replicas"] == len(shards)
        owned = [symbol for shard in shards for symbol in shard]
        assert sorted(owned) == sorted(values["symbols"]), f"{service} shards must partition"
    gateway_replicas = found["md_gateway"]["spec"]["replicas"]
    for index in range(gateway_replicas):
        shard = parse_shard(f"{index}/{gateway_replicas}")
        assert shard_symbols(values["symbols"], shard), f"md_gateway shard {shard} owns nothing"


@pytest.mark.parametrize("values_name", VALUE_SETS)
def test_rendered_environment_is_accepted_by_each_service(
    values_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every replica's env (ConfigMap + pod env, ordinal substituted, mounted files written to
    a temporary directory) loads with the service's real settings class."""
    values = merged(VALUE_SETS[values_name])
    manifests = render(VALUE_SETS[values_name])
    config_maps = {
        item["metadata"]["name"]: item["data"] for item in by_kind(manifests, "ConfigMap")
    }
    carried: dict[str, list[list[str]]] = {}
    for service, workload in workloads(manifests).items():
        module_name, class_name = SETTINGS_CLASSES[service]
        settings_type = getattr(importlib.import_module(module_name), class_name)
        for ordinal in range(workload["spec"]["replicas"]):
            environment = pod_environment(workload, ordinal, config_maps, tmp_path / service)
            with monkeypatch.context() as patch:
                for name, value in environment.items():
                    patch.setenv(name, value)
                settings = load_settings(settings_type)
            assert settings.nats.user == service
            assert settings.nats.password.get_secret_value() == f"{service}-password"
            assert settings.http.port == 9100
            if service == "executor":  # its instance id must fit a client order id
                ClientIdFactory(settings.order_prefix, settings.instance_id)
            carried.setdefault(service, []).append(_symbols_of(settings))
    for service in ("quoter", "executor"):
        config = values["services"][service]
        everything = [values["symbols"]] * (config["replicas"] if config["lease"]["enabled"] else 1)
        assert carried[service] == (config["symbolShards"] or everything)
    gateway = carried["md_gateway"]
    assert sorted(symbol for shard in gateway for symbol in shard) == sorted(values["symbols"])
    assert carried["risk"] == [values["symbols"]]


def test_lease_mode_runs_replicas_with_every_symbol_and_the_replica_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """values-lease.yaml: two pods per leased service, instance ids 0 and 1, both listed."""
    from executor.settings import ExecutorSettings

    manifests = render(LEASE)
    config_maps = {
        item["metadata"]["name"]: item["data"] for item in by_kind(manifests, "ConfigMap")
    }
    found = workloads(manifests)
    for service in ("quoter", "executor"):
        assert (found[service]["kind"], found[service]["spec"]["replicas"]) == ("StatefulSet", 2)
    instances = []
    for ordinal in range(2):
        environment = pod_environment(found["executor"], ordinal, config_maps, tmp_path / "x")
        with monkeypatch.context() as patch:
            for name, value in environment.items():
                patch.setenv(name, value)
            settings = load_settings(ExecutorSettings)
        assert settings.lease.enabled
        assert settings.lease.replicas == ["0", "1"]
        assert settings.lease.ttl_s == 3
        instances.append(settings.instance_id)
    assert instances == ["0", "1"]
    assert found["risk"]["kind"] == "Deployment"  # not leased: one replica, as before


def _symbols_of(settings: Any) -> list[str]:
    if hasattr(settings, "owned_symbols"):
        return list(settings.owned_symbols)  # md_gateway: its shard of the list
    if hasattr(settings, "quoted_symbols"):
        return list(settings.quoted_symbols())
    if hasattr(settings, "all_symbols"):
        return list(settings.all_symbols)  # risk: listed, then grid-only ones
    return list(settings.symbols)


def pod_environment(
    workload: dict[str, Any], ordinal: int, config_maps: dict[str, dict[str, str]], files: Path
) -> dict[str, str]:
    """The environment Kubernetes would give replica `ordinal`, with mounts mapped into `files`."""
    pod = workload["spec"]["template"]["spec"]
    container = pod["containers"][0]
    pod_name = f"{workload['metadata']['name']}-{ordinal}"
    mounts = _materialise_mounts(pod, container, config_maps, files)
    environment: dict[str, str] = {}
    for source in container["envFrom"]:
        environment.update(config_maps[source["configMapRef"]["name"]])
    for variable in container["env"]:
        if "valueFrom" in variable:
            path = variable["valueFrom"]["fieldRef"]["fieldPath"]
            value = pod_name if path == "metadata.name" else str(ordinal)
        else:
            value = re.sub(
                r"\$\((\w+)\)", lambda match: environment[match.group(1)], variable["value"]
            )
        for mount_path, local in mounts.items():
            if value.startswith(mount_path + "/"):
                value = str(local) + value.removeprefix(mount_path)
        environment[variable["name"]] = value
    return environment


def _materialise_mounts(
    pod: dict[str, Any],
    container: dict[str, Any],
    config_maps: dict[str, dict[str, str]],
    files: Path,
) -> dict[str, Path]:
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = {}
    for mount in container["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "emptyDir" in volume:
            continue
        local = files / mount["name"]
        local.mkdir(parents=True, exist_ok=True)
        if "secret" in volume:
            for item in volume["secret"]["items"]:
                fake = item["key"].replace(".", "-")  # md_gateway.password -> md_gateway-password
                (local / item["path"]).write_text(fake)
        elif "configMap" in volume:
            for key, value in config_maps[volume["configMap"]["name"]].items():
                (local / key).write_text(value)
        mounts[mount["mountPath"]] = local
    return mounts


def _nats(manifests: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [item for item in by_kind(manifests, kind) if component(item) == "nats"]


@pytest.mark.parametrize("values_name", VALUE_SETS)
def test_nats_is_a_three_node_jetstream_cluster_one_per_node(values_name: str) -> None:
    manifests = render(VALUE_SETS[values_name])
    [nats] = _nats(manifests, "StatefulSet")
    assert nats["spec"]["replicas"] == 3
    pod = nats["spec"]["template"]["spec"]
    anti = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert anti[0]["topologyKey"] == "kubernetes.io/hostname"
    assert anti[0]["labelSelector"]["matchLabels"] == nats["spec"]["selector"]["matchLabels"]
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    container = pod["containers"][0]
    assert container["resources"]["requests"]["memory"]
    assert container["resources"]["limits"]["memory"]
    assert nats["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
    [budget] = _nats(manifests, "PodDisruptionBudget")
    assert budget["spec"]["maxUnavailable"] == 1  # two of three keep the quorum
    config = _nats(manifests, "ConfigMap")[0]["data"]["nats-server.conf"]
    routes = re.findall(r"nats://(mm-nats-\d)\.mm-nats\.trading\.svc:6222", config)
    assert routes == ["mm-nats-0", "mm-nats-1", "mm-nats-2"]
    assert "include ./auth/nats.conf" in config
    assert "domain: mm" in config


def test_services_reach_every_nats_node_and_keep_three_copies_of_each_stream() -> None:
    manifests = render({})
    nodes = [f"nats://mm-nats-{index}.mm-nats.trading.svc:4222" for index in range(3)]
    for config_map in by_kind(manifests, "ConfigMap"):
        data = config_map["data"]
        for service in SERVICE_USERS:
            prefix = service.upper() + "_"
            if prefix + "NATS__URL" in data:
                assert data[prefix + "NATS__URL"] == ",".join(nodes)
                assert data[prefix + "NATS__REPLICAS"] == "3"


def test_an_existing_nats_replaces_the_charts_own_cluster() -> None:
    values = {
        "nats": {"cluster": {"enabled": False}, "url": "nats://bus:4222", "streamReplicas": 1}
    }
    manifests = render(values)
    assert [item for item in manifests if component(item) == "nats"] == []
    data = [
        item["data"] for item in by_kind(manifests, "ConfigMap") if "RISK_NATS__URL" in item["data"]
    ]
    assert data == [{**data[0], "RISK_NATS__URL": "nats://bus:4222", "RISK_NATS__REPLICAS": "1"}]


def test_a_nats_cluster_of_even_size_is_refused() -> None:
    with pytest.raises(Exception, match="replicas"):
        render({"nats": {"cluster": {"replicas": 2}}})


def test_the_rendered_nats_config_is_accepted_by_nats_server(tmp_path: Path) -> None:
    """The node config as a pod sees it (POD_NAME set, the bus users' file beside it), checked by
    the real nats-server binary (`-t`)."""
    config = _nats(render({}), "ConfigMap")[0]["data"]["nats-server.conf"]
    (tmp_path / "nats-server.conf").write_text(config)
    prepare_bus_credentials(tmp_path / "auth")
    checked = subprocess.run(
        [str(find_binary()), "-t", "-c", "nats-server.conf"],
        cwd=tmp_path,
        env={**os.environ, "POD_NAME": "mm-nats-0"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert "is valid" in checked.stderr + checked.stdout
