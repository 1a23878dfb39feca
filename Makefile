# Entry points of the project; each target is one script under scripts/.
.PHONY: setup test

# Create/update .venv, build the ROS 2 messages, prebuild Anny's cache (idempotent).
setup:
	scripts/setup.sh

# Set up (idempotent), then run the whole test suite.
test:
	scripts/test.sh
