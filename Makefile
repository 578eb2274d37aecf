# The two commands a newcomer needs; everything else lives in scripts/.
.PHONY: run test setup

run:    ## install what is missing, build, and serve on http://127.0.0.1:3000 (SQLite)
	@bash scripts/run.sh

test:   ## install what is missing and run the whole suite (Rust on SQLite + PostgreSQL, Playwright)
	@bash scripts/test.sh

setup:  ## only install the toolchain and tools
	@bash scripts/setup.sh
