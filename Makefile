# Developer shortcuts; ./setup.sh stays the one entry point for set-up.
#   make test       the whole test suite (./setup.sh test)
#   make installer  the desktop bundle in dist/ (installer/README.md); MODEL=PATH ships
#                   another checkpoint as the default model
PY := .venv/bin/python

.PHONY: test installer

test:
	./setup.sh test

installer:
	./setup.sh env
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[installer]"
	nice -n 10 $(PY) installer/build.py $(if $(MODEL),--model "$(MODEL)")
