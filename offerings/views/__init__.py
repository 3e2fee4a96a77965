"""Offering pages, one module per audience: public, investor, issuer, staff."""
