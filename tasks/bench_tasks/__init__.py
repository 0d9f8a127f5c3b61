"""The standard task suite of bench (docs/architecture.md §4), as a plugin: copy, adding, selective
copy, associative recall and sequential/permuted digits."""
