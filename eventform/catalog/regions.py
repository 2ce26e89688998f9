"""The AWS regions the hashicorp/aws provider knows, so a typo (``eu-middle-9``) stops at lint, not at plan.

Provenance: the region table of hashicorp/aws-sdk-go-base (``endpoints/endpoints_gen.go``, generated from the AWS
SDK's partition data) as compiled into terraform-provider-aws v5.100.0, the provider mirrored for eventform's
development machines; the provider refuses any region outside it unless ``skip_region_validation`` is set. Read from
the mirrored binary: every region id below is present with its description, and none other is (ap-southeast-6 and
the European Sovereign Cloud came after 5.100.0). Update the table when the project moves to a newer provider.
"""

from __future__ import annotations

PROVIDER = "hashicorp/aws 5.100.0"

# region id -> description, per partition (aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f)
REGIONS: dict[str, str] = {
    "af-south-1": "Africa (Cape Town)",
    "ap-east-1": "Asia Pacific (Hong Kong)",
    "ap-east-2": "Asia Pacific (Taipei)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-northeast-2": "Asia Pacific (Seoul)",
    "ap-northeast-3": "Asia Pacific (Osaka)",
    "ap-south-1": "Asia Pacific (Mumbai)",
    "ap-south-2": "Asia Pacific (Hyderabad)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-southeast-3": "Asia Pacific (Jakarta)",
    "ap-southeast-4": "Asia Pacific (Melbourne)",
    "ap-southeast-5": "Asia Pacific (Malaysia)",
    "ap-southeast-7": "Asia Pacific (Thailand)",
    "ca-central-1": "Canada (Central)",
    "ca-west-1": "Canada West (Calgary)",
    "eu-central-1": "Europe (Frankfurt)",
    "eu-central-2": "Europe (Zurich)",
    "eu-north-1": "Europe (Stockholm)",
    "eu-south-1": "Europe (Milan)",
    "eu-south-2": "Europe (Spain)",
    "eu-west-1": "Europe (Ireland)",
    "eu-west-2": "Europe (London)",
    "eu-west-3": "Europe (Paris)",
    "il-central-1": "Israel (Tel Aviv)",
    "me-central-1": "Middle East (UAE)",
    "me-south-1": "Middle East (Bahrain)",
    "mx-central-1": "Mexico (Central)",
    "sa-east-1": "South America (Sao Paulo)",
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "cn-north-1": "China (Beijing)",
    "cn-northwest-1": "China (Ningxia)",
    "us-gov-east-1": "AWS GovCloud (US-East)",
    "us-gov-west-1": "AWS GovCloud (US-West)",
    "us-iso-east-1": "US ISO East",
    "us-iso-west-1": "US ISO WEST",
    "us-isob-east-1": "US ISOB East (Ohio)",
    "eu-isoe-west-1": "EU ISOE West",
    "us-isof-east-1": "US ISOF EAST",
    "us-isof-south-1": "US ISOF SOUTH",
}


def region_problem(region: str) -> tuple[str, str] | None:
    """(message, fix) when the provider does not know ``region``; None when it does."""
    if region in REGIONS:
        return None
    same_area = sorted(r for r in REGIONS if r.split("-")[0] == region.split("-")[0])
    choices = same_area or sorted(REGIONS)
    return (
        f"unknown AWS region {region!r}: the {PROVIDER} provider knows {len(REGIONS)} regions and refuses others",
        f"use one of: {', '.join(choices)} (the region's code, e.g. eu-west-1 for {REGIONS['eu-west-1']})",
    )
