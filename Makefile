# Two commands set everything up: `make run` and `make test`. Both are idempotent:
# apt and pip run only when something is missing or pyproject.toml changed.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := .stamps

RUN_APT  := mpv libmpv2 ffmpeg ca-certificates avahi-daemon
TEST_APT := $(RUN_APT) mosquitto mosquitto-clients pulseaudio pulseaudio-utils chromium \
            fonts-dejavu-core systemd dosfstools mtools e2fsprogs fdisk sox faketime network-manager openssl \
            cage xwayland grim zbar-tools tesseract-ocr

# The image: Debian's mmdebstrap builds it, qemu-user runs a foreign architecture's
# package scripts, QEMU boots it in the image tests.
IMAGE_APT      := mmdebstrap arch-test qemu-user-static binfmt-support dosfstools mtools e2fsprogs \
                  fdisk ffmpeg
IMAGE_TEST_APT := $(IMAGE_APT) qemu-system-x86 qemu-system-arm ovmf socat
ARCH ?= arm64

.PHONY: run test lint bench soak clean deps-run deps-test image image-test

run: deps-run
	$(PY) -m appliance run --data-dir ./var/data --media-dir ./var/media --port 8080 $(ARGS)

test: deps-test
	bash bin/test-run

image: deps-test $(STAMP)/apt-image
	bash bin/image-build $(ARCH)

# Builds both images afresh, then boots them in QEMU (TCG: slow) and checks them as a
# venue would. Run by .ci/run after make test.
image-test: deps-test $(STAMP)/apt-image-test
	bash bin/image-build amd64
	bash bin/image-build arm64
	$(PY) -m pytest -q -p no:cacheprovider --basetemp=build/image-test tests/image $(ARGS)

lint: deps-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# bench_vs_mopidy measures Debian's Mopidy beside the console; without it (no apt) the
# bench prints DJAMMS's figures only and says so
bench: deps-test
	bash bin/apt-ensure mopidy || echo "bench: mopidy could not be installed; no Mopidy ratios"
	bash bin/bench-run

soak: deps-test
	$(PY) -m pytest -q -m slow tests $(ARGS)

deps-run: $(STAMP)/apt-run $(STAMP)/pip-run
deps-test: $(STAMP)/apt-test $(STAMP)/pip-test

$(STAMP)/apt-run: bin/apt-ensure
	@mkdir -p $(STAMP)
	bash bin/apt-ensure $(RUN_APT)
	@touch $@

$(STAMP)/apt-test: bin/apt-ensure Makefile
	@mkdir -p $(STAMP)
	bash bin/apt-ensure $(TEST_APT)
	@touch $@

$(STAMP)/apt-image: bin/apt-ensure Makefile
	@mkdir -p $(STAMP)
	bash bin/apt-ensure $(IMAGE_APT)
	@touch $@

$(STAMP)/apt-image-test: bin/apt-ensure Makefile
	@mkdir -p $(STAMP)
	bash bin/apt-ensure $(IMAGE_TEST_APT)
	@touch $@ $(STAMP)/apt-image

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip

$(STAMP)/pip-run: pyproject.toml $(VENV)/bin/python
	@mkdir -p $(STAMP)
	$(VENV)/bin/pip install -q -e .
	@touch $@

$(STAMP)/pip-test: pyproject.toml $(VENV)/bin/python
	@mkdir -p $(STAMP)
	$(VENV)/bin/pip install -q -e '.[test]'
	@touch $@ $(STAMP)/pip-run

clean:
	rm -rf $(STAMP) build dist *.egg-info
