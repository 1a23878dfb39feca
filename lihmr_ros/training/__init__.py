"""Training of the LIHMR network on synthetic shards (``lihmr train``).

``windows`` preloads shards and samples person windows, ``targets`` rebuilds
full-mesh ground truth, ``losses`` holds the loss terms, ``trainer`` the loop
(AdamW, warm-up + cosine ``schedule``, safetensors checkpoints with the
optimiser ``state`` beside them, ``csv_log``), ``validation`` the quick
network-only evaluation on held-out shards.  Import the submodules explicitly;
this package pulls in nothing heavy by itself.
"""
