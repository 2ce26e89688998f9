"""The ``eventform`` commands, thin: parse arguments, call the packages below, print.

Imports: any eventform package; nothing imports it.
"""
