"""Devices and the housing apps: arrears suspend door access and payment restores it; meter
readings become utility bills. See docs/devices-linkage.md."""
