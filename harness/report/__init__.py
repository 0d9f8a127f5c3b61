"""``bench report``: one self-contained HTML page and a Markdown summary of a results directory.

``build`` assembles the page (``page``) from tables (``tables``) and matplotlib figures
(``figures``), renders it (``html``, ``markdown``) and writes both files all-or-nothing
(``atomic``).
"""
