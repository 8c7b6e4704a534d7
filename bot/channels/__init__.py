"""Channel adapters: they only translate between a platform and the flows.

`base.py` is the port every adapter offers, `registry.py` lists them; see docs/channels.md.
"""
