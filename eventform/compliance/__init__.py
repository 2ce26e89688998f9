"""Compliance scanning: checkov with the project's policies and eventform's stack checks, reports and the terminal view.

Imports: ``eventform.catalog`` (the model and waivers); never the synthesis, local or authoring packages.
"""
