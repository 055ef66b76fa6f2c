"""Helpers shared by every layer's tests: a scripted IRC client, server processes, waiting."""
