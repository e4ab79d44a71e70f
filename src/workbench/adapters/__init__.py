"""Live broker adapters: vendor client libraries, translated to the domain (DESIGN rule 7)."""
