"""Renderers of :class:`harness.table_model.Table`: the terminal (rich), HTML and Markdown."""
