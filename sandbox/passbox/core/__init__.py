"""Shared machinery of the sandbox. Imports no vendor."""
