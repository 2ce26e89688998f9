"""Authoring: add/scaffold, YAML editing, docs, AsyncAPI, diff and cost, with their templates and price tables.

Imports: ``eventform.catalog``, ``eventform.runtime`` (examples as published), ``eventform.synthesis`` (diff) and
``modules``' plain plans (``modules.observability``, ``modules.dashboard``: what is watched and drawn, for cost and
docs; never a construct).
"""
