"""The local rehearsal: the embedded AWS (moto) up and down, the runners that play Lambda and Pipes, the rehearsal.

Imports: ``eventform.catalog``, ``eventform.runtime`` and ``eventform.synthesis`` (to synthesize the local stacks).
"""
