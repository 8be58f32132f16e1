# The newcomer's shortcuts: each target calls overlord-tui (release build) or cargo.
# `make demo ARGS=--headless` passes more arguments; `make run REPO=../my-project` works on
# another repository.

CARGO ?= cargo
OVERLORD = $(CARGO) run --release --quiet --
REPO ?= .
ARGS ?=

.PHONY: run demo qa audit clean test real-agents

# The console on REPO (offers `init` on the first run).
run:
	$(OVERLORD) --repo $(REPO) $(ARGS)

# The scripted swarm through a whole cycle, in the console (--headless: no console).
demo:
	$(OVERLORD) demo $(ARGS)

# The QA gates on REPO's integration branch (HEAD before the first Save).
qa:
	$(OVERLORD) --repo $(REPO) qa $(ARGS)

# The audit trail: its summary, then its verification against git.
audit:
	$(OVERLORD) --repo $(REPO) audit summary
	$(OVERLORD) --repo $(REPO) audit verify --git

test:
	$(CARGO) test

# Opt-in, not in CI: the pinned real agent CLIs (installed from the npm registry into
# REAL_AGENTS_DIR) against loopback fake model APIs, one task each through `overlord-tui run`
# (tests/real_agents.rs; `gemini --acp` through the acp kind: ONLY=real_agents::acp; results
# in docs/adapters.md). Needs node, npm and python3.
REAL_AGENTS_DIR ?= $(HOME)/.cache/overlord-tui/real-agents
REAL_AGENTS_CLIS = @openai/codex@0.169.0 @anthropic-ai/claude-code@2.1.329 @google/gemini-cli@0.61.0
ONLY ?= real_agents::
real-agents:
	mkdir -p $(REAL_AGENTS_DIR)
	npm install --no-audit --no-fund --prefix $(REAL_AGENTS_DIR) $(REAL_AGENTS_CLIS)
	OVERLORD_REAL_AGENTS_DIR=$(REAL_AGENTS_DIR) $(CARGO) test --test all $(ONLY) -- --ignored --test-threads=1 --nocapture $(ARGS)

clean:
	$(CARGO) clean
