"""Target profiles: the model, the loader and the safety fences of DESIGN §4."""
