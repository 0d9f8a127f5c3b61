"""A plugin module that calls sys.exit() while it is imported (a careless plugin)."""

import sys

sys.exit("this plugin refuses to load")
