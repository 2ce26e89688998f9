"""The stacks: one per (environment, domain) and one platform stack per environment, and the per-feature wiring.

Stacks receive frozen model objects and never read files or the process environment. Cross-stack references are
deterministic names and ARNs (:class:`eventform.catalog.naming.Names`), not remote state. Imports: the constructs
in ``modules`` and ``eventform.catalog``; the wiring modules import :mod:`modules.stacks.base`, never the domain stack.
"""
