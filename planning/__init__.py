"""The one planner: catalog, request constraints, plan building, validation and repair.

Sits between nodes and tools: it imports ``tools`` (the catalog the registry implements),
``services`` and ``state``; the plan node and the benchmarks both call it.
"""
