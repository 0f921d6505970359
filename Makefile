# Tongguan: the two commands of the README, plus a few helpers.
#   make run    set up a fresh machine and serve http://127.0.0.1:$(PORT) (SQLite, demo data and
#               three months of demo history, docs/demo.md)
#   make test   set up and run the whole test suite (SQLite; again on PostgreSQL if TEST_DATABASE_URL is set)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
WORKERS ?= 2
export TONGGUAN_ENV ?= development
FLASK  := $(BIN)/flask --app wsgi

.PHONY: run dev test setup db bench browser clean static messages

# front-end libraries (Leaflet, ...) from the npm registry, pinned by package-lock.json, bundled by
# esbuild from the entry points app/static/src/*.js into app/static/vendor/ (not committed; no CDN)
STATIC_SRC := $(wildcard app/static/src/*.js app/static/src/*.css app/static/src/*/*.js app/static/src/*/*.css app/static/src/*/*.json)
NPM_MISSING := Tongguan's front-end libraries are installed with npm (Node.js 18 or newer): sudo apt-get install npm
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; fi; \
	  command -v npm >/dev/null 2>&1 || { echo "$(NPM_MISSING)" >&2; exit 1; }; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

app/static/vendor/.built: node_modules/.installed scripts/build-static.mjs $(STATIC_SRC)
	node scripts/build-static.mjs
	touch $@

static: app/static/vendor/.built

$(VENV)/.installed: setup.cfg
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# the interface's translations: gettext catalogues, compiled (not kept in git) when their .po changes
TRANSLATIONS := app/translations
CATALOGUES   := $(patsubst %.po,%.mo,$(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po))

setup: $(VENV)/.installed $(CATALOGUES) app/static/vendor/.built

$(TRANSLATIONS)/%/LC_MESSAGES/messages.mo: $(TRANSLATIONS)/%/LC_MESSAGES/messages.po | $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -l $* -i $< -o $@

# after adding or changing texts: collect them (babel.cfg) into every language's .po, then translate
# the new entries (docs/translating.md); the .pot is generated here, not kept in git
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg --add-location=file --no-wrap --project=Tongguan \
	  --copyright-holder="Tongguan contributors" -o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-wrap --ignore-obsolete
	$(BIN)/pybabel compile --statistics -d $(TRANSLATIONS)

db: setup
	$(FLASK) db upgrade
	$(FLASK) catalog load
	$(FLASK) demo load
	$(FLASK) processes deploy
	$(FLASK) demo history --if-empty

# the timer scheduler (reminders, overdue escalations) runs as its own process next to gunicorn
run: db
	@echo "Tongguan on http://127.0.0.1:$(PORT)  (demo users: demo_operator, demo_dispatcher, ... password 'demo')"
	@$(FLASK) scheduler run & sched=$$!; trap 'kill $$sched 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn --workers $(WORKERS) --bind 127.0.0.1:$(PORT) --access-logfile - wsgi:app

dev: db
	TONGGUAN_SCHEDULER_EMBEDDED=1 $(FLASK) run --debug --port $(PORT)

browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "the browser test needs Debian's chromium: sudo apt-get install chromium"; fi; }

# pytest exits 5 when it collected no test: say so instead of failing
test: setup browser
	$(BIN)/ruff check --quiet app tests bench wsgi.py
	@set -e; run() { rc=0; "$$@" || rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; rc=0; fi; return $$rc; }; \
	echo "== test suite on SQLite"; TEST_DATABASE_URL= run $(BIN)/python -m pytest -q $(PYTEST_ARGS); \
	if [ -n "$$TEST_DATABASE_URL" ]; then echo "== test suite on PostgreSQL ($$TEST_DATABASE_URL)"; run $(BIN)/python -m pytest -q $(PYTEST_ARGS); fi

# the load generator is Debian's wrk (bench_api.py falls back to a slower Python client without it)
bench: setup
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" != 0 ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }; }
	$(BIN)/python bench/bench_api.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache node_modules app/static/vendor
