"""One module per rule; `dockyard.doctor.registry` lists them. Families by hundreds:
1xx bloat, 2xx resources, 3xx secrets, 4xx health, 5xx security, 6xx reproducibility, 7xx parity.
"""
