"""Outbound clients, one module per external system."""
