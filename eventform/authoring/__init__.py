"""Authoring: add/scaffold, YAML editing, docs, AsyncAPI and diff, with their templates.

Imports: ``eventform.catalog``, ``eventform.runtime`` (examples as published) and ``eventform.synthesis`` (diff).
"""
