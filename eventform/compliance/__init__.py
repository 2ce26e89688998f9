"""Compliance scanning: checkov with the project's policies and eventform's stack checks, reports and the terminal view.

Imports: ``eventform.catalog`` (the model and waivers) and the output lock ``eventform.synthesis.lock``; never the rest
of the synthesis package, nor local or authoring.
"""
