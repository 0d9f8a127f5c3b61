"""The standard task suite of bench (DESIGN.md §3): copy and adding, as a plugin."""
