"""Evaluation of mesh recovery (``lihmr eval``): ``metrics`` (MPJPE, PA-MPJPE, MPVE, PA-MPVE,
acceleration error), ``sequences`` (the evaluation data layout) and ``runner`` (the streaming
pipeline over those sequences).  Import the submodules explicitly."""
