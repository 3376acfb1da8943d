"""GAP8 deployment: adaptations, layer IR, memory plan, export and code generation (SPEC §6)."""
