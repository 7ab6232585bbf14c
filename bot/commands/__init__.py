"""Slash-command grammars: text in, a typed command (or a BadInput with the usage) out (§2)."""
