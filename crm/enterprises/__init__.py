"""The enterprise registry: regions, enterprises, contacts, annual figures, IP, search."""
