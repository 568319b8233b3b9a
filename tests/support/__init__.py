"""What every test folder shares: goldens, waiting, fake clocks, ports, TOML and real processes.

One concept per module; import from the module (`from tests.support.waiting import eventually`).
"""
