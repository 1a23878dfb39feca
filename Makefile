# Entry points of the project; each target is one script under scripts/.
.PHONY: setup test demo eval-heldout eval-selection eval-selection2

# Create/update .venv, build the ROS 2 messages, prebuild Anny's cache (idempotent).
setup:
	scripts/setup.sh

# Set up (idempotent), then run the whole test suite.
test:
	scripts/test.sh

# Set up (idempotent), then run the demo (camera -> lihmr_node -> bag, overlay video, meshes in out/demo).
# Arguments for `lihmr demo`: make demo DEMO_ARGS="--input clip.mp4 --fps 10"
demo:
	scripts/demo.sh $(DEMO_ARGS)

# Set up, regenerate the held-out evaluation split from its seed, evaluate the shipped weights
# (the numbers in docs/model_card.md). Arguments for `lihmr eval`: make eval-heldout EVAL_ARGS="--weights W"
# (EVAL_ARGS=--no-ground: the network's own sizes, without the floor each sequence's camera.json gives)
eval-heldout:
	scripts/eval_heldout.sh $(EVAL_ARGS)

# The same on the 48-sequence selection split (seed 3003), on which shipping decisions were made until the
# fifteenth session.
eval-selection:
	LIHMR_EVAL_SPLIT=selection scripts/eval_heldout.sh $(EVAL_ARGS)

# The second, 96-sequence selection split (seed 5005), on which shipping decisions are made since then.
eval-selection2:
	LIHMR_EVAL_SPLIT=selection2 scripts/eval_heldout.sh $(EVAL_ARGS)
