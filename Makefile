# Logbook: the two set-up commands are `make demo` and `make test`; both work on a fresh
# Debian 12 machine with Swift (they install what is missing and start their own PostgreSQL).
.PHONY: build release test demo bench bench-restore fuzz deps compose-check clean

build:
	swift build

release:
	swift build -c release

deps:
	bash scripts/install-deps.sh

# The whole test suite against PostgreSQL 15 and 18, started on loopback for the run.
test:
	bash scripts/test.sh

# Capture the ELD critical tables of a throwaway PostgreSQL under live traffic, then replay one
# to a point in time.
demo:
	bash scripts/demo.sh

# The archive fuzz test at length: random damage to a real archive, replay must refuse or be right.
# FUZZ_ITERATIONS (default 3000) and FUZZ_SEED (printed on a failure) reproduce a run.
fuzz:
	LOGBOOK_FUZZ_ITERATIONS=$${FUZZ_ITERATIONS:-3000} LOGBOOK_FUZZ_SEED=$${FUZZ_SEED:-} bash scripts/test.sh --filter ArchiveFuzzTests

# pg_recvlogical / pg_dump / pg_restore side by side with logbook; writes docs/benchmarks.md.
bench:
	bash scripts/bench.sh

# logbook replay --all of six ELD tables with foreign keys against pg_restore -j 2 (part of make bench).
bench-restore:
	bash scripts/bench-restore-set.sh

compose-check:
	docker-compose -f docker-compose.yml config -q

clean:
	rm -rf .build
