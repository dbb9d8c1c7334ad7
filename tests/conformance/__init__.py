"""Entries of the conformance tables: one module per area, one list of cases each.

The tables themselves (one parametrised test per contract) live in
``tests/test_conformance_training.py`` (and, for agents, ``test_conformance_agents.py``).
"""
