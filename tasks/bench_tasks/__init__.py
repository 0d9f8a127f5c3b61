"""The standard task suite of bench (DESIGN.md §3), as a plugin: copy, adding, selective
copy, associative recall and sequential/permuted digits."""
