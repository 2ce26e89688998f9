"""CDK Terrain constructs, one per AWS building block (queue, topic, bus, rule, function...), and the stacks.

Imports: ``eventform.catalog`` (the model the constructs read) and ``eventform.synthesis.packaging`` (the Lambda zips
functions point at); never the commands, local, authoring or compliance packages.
"""
