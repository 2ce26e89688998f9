"""Synthesis: catalog + environment -> the CDK Terrain app -> Terraform JSON, the Lambda zips and the toolchain; the
provider lock files of each environment (``provider_locks``) and the one deploy path that applies the stacks with
plain Terraform (``deployment``: ``eventform deploy``/``destroy`` and ``eventform local up``).

Imports: ``eventform.catalog`` and the constructs in ``modules``; nothing above (local, authoring, cli).
"""
