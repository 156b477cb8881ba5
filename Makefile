# Two commands set everything up on a fresh machine:
#   make run    - create .venv, install Phonovault, open the GUI on your catalog
#   make test   - create .venv, install Phonovault with its test tools, run the suite
# Everything lands in .venv beside this file; nothing is installed system-wide except the
# few Debian libraries Qt's desktop platform plugin needs (asked for only when missing).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Qt's xcb platform plugin needs these on Debian/Ubuntu; offscreen (tests, CI) needs none.
GUI_DEBS := libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 \
            libxkbcommon-x11-0
# The real tools users run on their files (taggers, remuxers, encoders) and real drive file
# systems under FUSE: the tests use each of them, and fail (never skip) when one is missing.
TEST_DEBS := flac vorbis-tools id3v2 kid3-cli atomicparsley wavpack ffmpeg sox mp3gain \
             fusefat exfat-fuse dosfstools exfatprogs fuse2fs

.PHONY: run test lint bench bench-small screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	@sh .ci/debian-deps $(GUI_DEBS)
	$(BIN)/phonovault-gui

test: $(STAMP)
	@sh .ci/debian-deps $(TEST_DEBS)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

# import-linter walks packages on disk and cannot follow the editable install's import hook,
# so it reads a tree of links that spells the installed layout (phonovault/core -> core, ...).
IMPORTLINT := build/importlint
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	rm -rf $(IMPORTLINT) && mkdir -p $(IMPORTLINT)/phonovault
	for d in core gui plugins resources; do ln -s $(CURDIR)/$$d $(IMPORTLINT)/phonovault/$$d; done
	PYTHONPATH=$(IMPORTLINT) $(BIN)/lint-imports
	MYPYPATH=$(IMPORTLINT) $(BIN)/mypy --namespace-packages --explicit-package-bases \
	    -p phonovault.core

bench: $(STAMP)
	$(BIN)/python bench/scan_bench.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/gui_bench.py

bench-small: $(STAMP)
	$(BIN)/python bench/scan_bench.py --small
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/gui_bench.py --small
	$(BIN)/python bench/compare.py --small --no-gui
	$(BIN)/python bench/migration_bench.py --small --out build/bench

screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python tests/gui/screenshots.py docs

clean:
	rm -rf $(VENV) build *.egg-info

# Phonovault against bitrot, chkbit, beets(-check), sha256sum and the read+BLAKE3 limit
# (bench/compare.py; the competitors install into bench/.tools-venv on first use).
.PHONY: bench-compare
bench-compare: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/compare.py
