"""Graph wiring: builder, routes, persistence."""
