# The two commands a newcomer needs; everything else lives in scripts/.
.PHONY: run test setup release

run:    ## install what is missing, build, and serve on http://127.0.0.1:3000 (SQLite)
	@bash scripts/run.sh

test:   ## install what is missing and run the whole suite (Rust on SQLite + PostgreSQL, Playwright)
	@bash scripts/test.sh

setup:  ## only install the toolchain and tools
	@bash scripts/setup.sh

release: ## build the optimised static server with its site, packed in dist/ with a SHA-256
	@bash scripts/release.sh
