# make notebooks         re-run every lesson and store its outputs (and the README pictures)
# make check-notebooks   re-run them and say which stored outputs are stale; writes nothing

PYTHON ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)

.PHONY: notebooks check-notebooks

notebooks:
	$(PYTHON) notebooks/regenerate.py

check-notebooks:
	$(PYTHON) notebooks/regenerate.py --check
