# Eos: `make demo` shows it working on a local sandbox; `make test` runs the whole suite.
VENV   := .venv
PY     := $(VENV)/bin/python
SRC    := $(shell find csrc eos -name '*.[ch]' -o -name '*.py') setup.py pyproject.toml
PYTEST := $(PY) -m pytest
# pytest exits 5 when it collected no test: that is a failure too, said out loud.
NO_TESTS := || { rc=$$?; [ $$rc -ne 5 ] || echo "make: pytest collected no test" >&2; exit $$rc; }

.PHONY: all install build test-build test test-unit test-asan valgrind ctest fuzz fuzz-smoke demo demo-stop bench fleet clean

all: build

$(VENV)/.deps: scripts/install-deps scripts/debian-packages.txt requirements-test.txt
	bash scripts/install-deps
	touch $@

install: $(VENV)/.built

# An editable install: the extension is built in place (eos/_eos*.so), so the tests, salt-call
# and the daemons all import the same build.
$(VENV)/.editable: $(VENV)/.deps setup.py pyproject.toml
	$(PY) -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps -e .
	touch $@

$(VENV)/.built: $(VENV)/.editable $(SRC)
	$(PY) setup.py -q build_ext --inplace --force
	rm -f $(VENV)/.built-test
	touch $@

# The test build: the same extension with the crash-injection hooks compiled in
# (-DEOS_TEST_HOOKS, see setup.py). make test, test-unit and test-asan run against it; make
# install and make build leave the default build, which ignores the hooks' variables.
$(VENV)/.built-test: $(VENV)/.editable $(SRC)
	EOS_TEST_HOOKS=1 $(PY) setup.py -q build_ext --inplace --force
	rm -f $(VENV)/.built
	touch $@

test-build: $(VENV)/.built-test

build: install

# C tests of the library without Python, a short fuzzing pass, then the Python suite (unit,
# functional, integration) against the test build. The suite runs in TEST_WORKERS processes
# (pytest-xdist), one test file per worker at a time: most of its time is spent waiting on
# daemons, and every test already uses its own ports, namespaces and loop devices. The slowest
# tests are listed at the end, so CI's output shows where the time goes. The integration files
# (the longest) are handed out first, so that the short ones fill the end.
TEST_WORKERS ?= 3
test: test-build ctest fuzz-smoke
	$(PYTEST) -n $(TEST_WORKERS) --dist loadfile --durations=25 tests/integration tests/functional tests/unit $(NO_TESTS)

test-unit: test-build
	$(PYTEST) tests/unit $(NO_TESTS)

ctest: $(VENV)/.deps
	$(MAKE) -C csrc/tests run

# libFuzzer (clang, ASan+UBSan) on every parser of outside input, seeded from
# csrc/tests/fuzz/corpus: `make fuzz` explores each target FUZZ_SECONDS (60) from a new seed;
# `make fuzz-smoke` (part of `make test`) replays the whole corpus and tries SMOKE_RUNS inputs
# per target from a fixed seed, so that a failure in CI can be reproduced here.
FUZZ_SECONDS  ?= 60
SMOKE_RUNS    ?= 40000
fuzz: $(VENV)/.deps
	$(MAKE) -C csrc/tests/fuzz run FUZZ_SECONDS=$(FUZZ_SECONDS)

fuzz-smoke: $(VENV)/.deps
	$(MAKE) -C csrc/tests/fuzz smoke SMOKE_RUNS=$(SMOKE_RUNS)

# The suite against an ASan/UBSan build of the extension: the C tests, then the unit and
# functional tests (the extension in-process and in salt-call) with the runtimes preloaded.
# The preload reaches every child process: tests/integration is left out (Salt daemons under
# ASan miss their timeouts), and intercept_strchr=0 because libparted's own strchr over-read
# (Debian's parted 3.5) would abort the tools the tests run.
test-asan: $(VENV)/.editable
	EOS_SANITIZE=1 EOS_TEST_HOOKS=1 $(PY) setup.py -q build_ext --inplace --force
	rm -f $(VENV)/.built $(VENV)/.built-test
	$(MAKE) -C csrc/tests run-asan
	LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:intercept_strchr=0 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	EOS_ASAN=1 $(PYTEST) tests/unit tests/functional $(NO_TESTS)

# The C tests and the binding's leak check under valgrind.
valgrind: install
	$(MAKE) -C csrc/tests run-valgrind
	bash scripts/valgrind-binding

demo: install
	bash scripts/demo start

demo-stop:
	bash scripts/demo stop

# The fleet bench alone: `make fleet N=10,50,100` (sizes, comma-separated); SYNDICS=2 spreads
# the minions over two syndics under a master of masters.
N ?= 10
fleet: install
	$(PY) bench/bench_fleet.py $(N) $(if $(SYNDICS),--syndics $(SYNDICS))

bench: install
	$(PY) bench/run.py

clean:
	rm -rf build *.egg-info eos/*.so $(VENV)/.built $(VENV)/.built-test
	$(MAKE) -C csrc/tests clean
	$(MAKE) -C csrc/tests/fuzz clean
