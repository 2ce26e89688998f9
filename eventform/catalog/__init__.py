"""Reading the catalog: YAML + JSON Schema + environments in, one typed model out (with every problem found).

Imports: the standard library and third-party packages only; nothing of eventform outside this package.
"""
