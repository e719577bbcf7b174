"""How a model would run on this computer: the MoE-aware planner, KV cache sizes, and ``hearth bench``."""
