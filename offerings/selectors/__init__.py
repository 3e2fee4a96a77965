"""Reads about offerings, subscriptions, payments and holdings, one module per topic. Every page reads a
fixed number of queries."""
