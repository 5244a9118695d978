"""A Course the controller cannot accept is marked with a condition; others are unaffected.

The CRD schema normally refuses bad specs at apply time (test_kubectl). Here the CRD is
loosened first, as an operator editing it by hand might, so that a bad spec reaches the
controller: it must say why in the status, not crash, and not hold up another Course.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client

from controller.localcluster import LocalCluster

from .harness import CourseBuilder, Courses, wait_for

pytestmark = pytest.mark.e2e


def _loosen_crd(api: client.ApiClient) -> None:
    crds = client.ApiextensionsV1Api(api)
    crd = api.sanitize_for_serialization(
        crds.read_custom_resource_definition("courses.learning.dev"))
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    schema["properties"]["spec"] = {"type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True}
    schema["required"] = []
    crds.replace_custom_resource_definition("courses.learning.dev", crd)


def test_invalid_spec_gets_a_condition_naming_the_field_and_blocks_nothing(
    cluster: LocalCluster, api: client.ApiClient, courses: Courses, videos: list[Path],
) -> None:
    _loosen_crd(api)
    bad = CourseBuilder(name="bad", sources=videos[:1]).obj()
    bad["spec"]["modules"][0]["name"] = "Not_A_Label"
    del bad["spec"]["owner"]
    courses.create(bad)
    courses.create(CourseBuilder(name="good", sources=videos[:2]).obj())
    status = wait_for(lambda: (s := courses.status("bad")).get("phase") == "Invalid" and s,
                      20, "the bad Course to be marked Invalid")
    valid = {c["type"]: c for c in status["conditions"]}["Valid"]
    assert valid["status"] == "False" and valid["reason"] == "InvalidSpec"
    assert "spec.owner" in valid["message"] and "spec.modules[0].name" in valid["message"]
    assert courses.wait_phase("good", ("Succeeded", "Failed"), 60)["phase"] == "Succeeded"
    assert cluster.controllers[0].alive()
