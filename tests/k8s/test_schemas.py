"""Every rendered manifest against the Kubernetes OpenAPI schemas of each supported version.

kubernetes-validate ships the schemas (offline); strict mode also rejects unknown fields, so a
misspelled key fails here instead of being dropped by the API server. Custom resources have no
schema there: each CRD kind is listed in CRD_SCHEMAS with a schema kept in tests/k8s/schemas/.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import pytest

# The Kubernetes minors the deployment supports: the ones kind v0.33 (the CI cluster) ships
# node images for, all still offered by the pinned kubernetes-validate.
SUPPORTED_VERSIONS = ["1.34", "1.35", "1.36", "1.37"]

SCHEMAS = Path(__file__).parent / "schemas"
# Custom resources (kind -> schema file): validated with our schema, not kubernetes-validate.
CRD_SCHEMAS = {"ServiceMonitor": "servicemonitor-monitoring.coreos.com-v1.json"}


def _kubernetes_errors(manifest: dict, version: str) -> str | None:
    try:
        kubernetes_validate.validate(manifest, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        return f"{'.'.join(str(p) for p in error.path)}: {error.message}"
    return None


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_every_builtin_manifest_is_valid_for_kubernetes(rendered, version):
    problems = {}
    for name, manifest in rendered.files.items():
        if manifest["kind"] in CRD_SCHEMAS:
            continue
        error = _kubernetes_errors(manifest, version)
        if error:
            problems[name] = error
    assert problems == {}


def test_the_supported_versions_are_offered_by_kubernetes_validate():
    offered = {".".join(v.split(".")[:2]) for v in kubernetes_validate.utils.all_versions()}
    assert set(SUPPORTED_VERSIONS) <= offered


def test_custom_resources_validate_against_the_kept_schemas(rendered):
    checked = 0
    for manifest in rendered.files.values():
        if manifest["kind"] in CRD_SCHEMAS:
            schema = json.loads((SCHEMAS / CRD_SCHEMAS[manifest["kind"]]).read_text())
            jsonschema.Draft202012Validator(schema).validate(manifest)
            checked += 1
    assert checked == len([m for m in rendered.files.values() if m["kind"] in CRD_SCHEMAS]) == 3


def test_every_rendered_kind_is_either_builtin_or_a_listed_custom_resource(rendered):
    for manifest in rendered.files.values():
        if manifest["kind"] not in CRD_SCHEMAS:
            assert _kubernetes_errors(manifest, SUPPORTED_VERSIONS[-1]) is None
            # SchemaNotFoundError would mean an unlisted custom resource: validate() raises it.


def test_strict_validation_rejects_a_misspelled_field(rendered):
    deployment = copy.deepcopy(rendered.get("Deployment", "user-service"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {
        "path": "/"
    }
    assert "httpGett" in _kubernetes_errors(deployment, SUPPORTED_VERSIONS[0])


def test_the_custom_resource_schema_rejects_a_misspelled_field(rendered):
    monitor = copy.deepcopy(rendered.get("ServiceMonitor", "api-gateway"))
    monitor["spec"]["endpoints"][0]["intervall"] = "30s"
    schema = json.loads((SCHEMAS / CRD_SCHEMAS["ServiceMonitor"]).read_text())
    with pytest.raises(jsonschema.ValidationError, match="intervall"):
        jsonschema.Draft202012Validator(schema).validate(monitor)
