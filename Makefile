# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv and install first.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# Prefect must never phone home, in the demo, the tests and the CLI alike.
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: install demo test bench lint clean debian-fonts debian-packages

# Debian packages (not Python): a CJK font for the circular's chart (matplotlib draws Chinese labels with
# it: `make demo` and `install` need it), and for `make test` the real tools that open the reports (a
# headless browser, LibreOffice, pdftotext). Each is installed only when missing and only where apt-get
# can run as root; elsewhere this says so, and the tests that need a missing tool skip with the reason.
FONT_PACKAGES := fonts-wqy-microhei
TEST_PACKAGES := chromium libreoffice-writer-nogui poppler-utils

define apt_install
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "debian packages: already installed: $(strip $(1))"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "debian packages: installing$$missing (apt-get update; apt-get install --no-install-recommends)"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; } \
	    || echo "debian packages: WARNING: apt-get could not install$$missing"; \
	else echo "debian packages: NOT installed:$$missing (needs root and apt-get); install them by hand" \
	  "(apt-get install$$missing); until then the tests that need them skip, the chart refuses to draw"; \
	fi
endef

debian-fonts:
	$(call apt_install,$(FONT_PACKAGES))

debian-packages: debian-fonts
	$(call apt_install,$(TEST_PACKAGES))

install: $(STAMP) debian-fonts

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/safegrade demo

test: install debian-packages
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python bench/run.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis *.egg-info
