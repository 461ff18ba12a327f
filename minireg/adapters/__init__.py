"""Adapters: the one place each outside library (git, pandas, openpyxl) is used."""
