"""The access rules as plain Python: no Django, no database, no clock.

Everything here is a pure function of its arguments, so a member's access at any moment can be computed,
explained and previewed from her sources alone (see DESIGN.md: "access is derived, never edited").
"""
