# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# Links in e-mails (the worker's too) and the sites framework's domain follow the port.
SITE_URL ?= http://127.0.0.1:$(PORT)
export SITE_URL
export DJANGO_SETTINGS_MODULE := portal.settings

.PHONY: run test lint install assets messages messages-update bench clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

# The Russian catalogue lives in locale/ru/LC_MESSAGES/django.po; the compiled .mo files
# are not in git, so every run and test compiles them (compilemessages fails when there
# is no catalogue at all, hence the look first).
MESSAGES_IGNORE := --ignore=.venv --ignore=node_modules --ignore=staticfiles --ignore=var
messages: install
	@if [ -z "$$(find . -path ./.venv -prune -o -path ./node_modules -prune -o -name '*.po' -print -quit)" ]; then :; \
	elif command -v msgfmt >/dev/null; then $(PY) manage.py compilemessages $(MESSAGES_IGNORE) -v 0; \
	else echo "gettext (msgfmt) is not installed: pages stay in English. apt-get install gettext"; fi

# After adding or changing strings: collect them into the catalogue (new ones come in
# untranslated; tests/i18n fails until they are translated), then compile.
messages-update: install
	$(PY) manage.py makemessages -l ru --no-location $(MESSAGES_IGNORE) --ignore=tests --ignore=bench --no-obsolete
	@# The creation date would make every branch that adds a string conflict with every other.
	sed -i '/^"POT-Creation-Date:/d' locale/ru/LC_MESSAGES/django.po
	$(PY) manage.py compilemessages $(MESSAGES_IGNORE) -v 0

# Front-end tools of the browser tests (axe-core, package.json), installed by `make test`.
# Without node/npm the browser tests are skipped, with the reason.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

assets:
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory node_modules/.package-lock.json; \
	else echo "node/npm is not installed: the browser tests will be skipped (apt-get install nodejs npm)"; fi

run: install messages
	$(PY) manage.py migrate --no-input -v 0
	$(PY) manage.py seed_demo
	$(PY) manage.py collectstatic --no-input -v 0
	@bash scripts/run.sh $(PORT)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) manage.py makemigrations --check --dry-run -v 1

test: install messages assets lint
	FAST_PASSWORD_HASHER=1 $(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) bench/run.py

clean:
	rm -rf var staticfiles .pytest_cache
