"""A LearnDash site as a sink: its catalog, what it held at the last import, connect/import/adopt/verify."""
