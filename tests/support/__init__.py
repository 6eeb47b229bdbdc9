"""Helpers shared by tests: chat driver, packs, fake-server fixtures, the network guard."""
