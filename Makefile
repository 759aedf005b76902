# Logbook: the two set-up commands are `make demo` and `make test`; both work on a fresh
# Debian 12 machine with Swift (they install what is missing and start their own PostgreSQL).
.PHONY: build release test demo bench deps compose-check clean

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

# pg_recvlogical / pg_dump / pg_restore side by side with logbook; writes docs/benchmarks.md.
bench:
	bash scripts/bench.sh

compose-check:
	docker-compose -f docker-compose.yml config -q

clean:
	rm -rf .build
