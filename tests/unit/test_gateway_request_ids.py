"""The errors API Gateway answers itself name the request in `x-request-id`, as the functions' answers do."""

from __future__ import annotations

from pathlib import Path

from devtools.template import load_template

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def test_every_gateway_response_maps_the_request_id_header() -> None:
    api = next(r for r in load_template(TEMPLATE)["Resources"].values() if r["Type"] == "AWS::Serverless::Api")
    responses = api["Properties"]["GatewayResponses"]
    missing = [
        kind
        for kind, spec in responses.items()
        if spec["ResponseParameters"]["Headers"].get("x-request-id") != "context.requestId"
    ]
    assert responses and not missing, f"gateway responses without x-request-id: {missing}"
