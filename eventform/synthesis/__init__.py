"""Synthesis: catalog + environment -> the CDK Terrain app -> Terraform JSON, the Lambda zips and the toolchain.

Imports: ``eventform.catalog`` and the constructs in ``modules``; nothing above (local, authoring, cli).
"""
