# The newcomer's shortcuts: each target calls overlord-tui (release build) or cargo.
# `make demo ARGS=--headless` passes more arguments; `make run REPO=../my-project` works on
# another repository.

CARGO ?= cargo
OVERLORD = $(CARGO) run --release --quiet --
REPO ?= .
ARGS ?=

.PHONY: run demo qa audit clean test

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

clean:
	$(CARGO) clean
