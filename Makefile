# The two commands README.md shows first: `make demo` and `make test`.
# Each installs missing Debian packages (as root, only when missing), configures
# and builds a Release tree in build/, then runs the demo jobs or the test suite.
BUILD ?= build
JOBS  ?= 2
CTEST_JOBS ?= 2
NP    ?= 2
# Debian's Python has NumPy/pandas/Dask; another python3 may come first on PATH.
PYTHON := /usr/bin/python3
ROOT_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-run-as-root,)
MPIRUN := mpirun $(ROOT_FLAGS) --oversubscribe
DATA := inputs/minute

.PHONY: all deps build test test-soak demo bench clean

all: build

deps-%:
	@bash .ci/deps.sh $*

# Build chatter goes to $(BUILD)/build.log; its tail is shown when the build fails.
QUIET_BUILD = @echo "building rask in $(BUILD)/ (log: $(BUILD)/build.log)"; \
	cmake --build $(BUILD) -j $(JOBS) > $(BUILD)/build.log 2>&1 || { tail -40 $(BUILD)/build.log; false; }

$(BUILD)/CMakeCache.txt:
	@mkdir -p $(BUILD)
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE=$(PYTHON) > $(BUILD)/configure.log 2>&1 \
	  || { cat $(BUILD)/configure.log; false; }

build: deps-build $(BUILD)/CMakeCache.txt
	$(QUIET_BUILD)

# Entries that time something run alone (RUN_SERIAL in tests/CMakeLists.txt); the rest
# CTEST_JOBS at a time. The soak (the full repeat counts, label `soak`) is `make test-soak`.
test: deps-test $(BUILD)/CMakeCache.txt
	$(QUIET_BUILD)
	ctest --test-dir $(BUILD) --output-on-failure -j $(CTEST_JOBS) --label-exclude soak

test-soak: deps-test $(BUILD)/CMakeCache.txt
	$(QUIET_BUILD)
	ctest --test-dir $(BUILD) --output-on-failure --label-regex soak

$(DATA)/aig:
	@$(BUILD)/inputs/rask-gen-minute --out $(DATA) --symbols aig,ibm --start 2010-01-04 --days 20 --seed 7

demo: build $(DATA)/aig
	@echo "== the workshop notebook, every cell, as one job: $(NP) ranks -> results/workshop.h5"
	@$(MPIRUN) -n $(NP) $(BUILD)/rask run jobs/workshop.py --data $(DATA) --out results/workshop.h5
	@echo "== 2.1 cartesian product, $(NP) ranks"
	@$(MPIRUN) -n $(NP) $(BUILD)/jobs/delayed_cartesian
	@echo "== 2.2 inc/inc/add, $(NP) ranks"
	@$(MPIRUN) -n $(NP) $(BUILD)/jobs/delayed_inc_add
	@echo "== 2.3 for-loop and control flow, $(NP) ranks"
	@$(MPIRUN) -n $(NP) $(BUILD)/jobs/delayed_loop
	@echo "== 2.4 daily high-low spread per file, $(NP) ranks"
	@$(MPIRUN) -n $(NP) $(BUILD)/jobs/daily_spread $(DATA)/aig
	@echo "== the same exercises as Python job scripts (Dask's API), $(NP) ranks"
	@$(MPIRUN) -n $(NP) $(BUILD)/rask run jobs/delayed_cartesian.py
	@$(MPIRUN) -n $(NP) $(BUILD)/rask run jobs/delayed_inc_add.py
	@$(MPIRUN) -n $(NP) $(BUILD)/rask run jobs/delayed_loop.py
	@$(MPIRUN) -n $(NP) $(BUILD)/rask run jobs/daily_spread.py $(DATA)/aig $(BUILD)/spreads.h5

# Every bench driver, rask next to Dask in the same run; medians of BENCH_REPEAT (5) with
# their min-max; bench/results/summary.md gathers the figures. BENCH_ONLY picks drivers
# (tasks,exercises,transfer,arrays,frames,workshop); BENCH_QUICK=1 checks they work.
# About 28 min at BENCH_REPEAT=5 on a quiet 2-core machine, 17 at 3; quick: 3 min.
BENCH_REPEAT ?= 5
BENCH_ONLY ?=
BENCH_QUICK ?=
bench: deps-bench build
	$(PYTHON) bench/bench_all.py --build $(BUILD) --repeat $(BENCH_REPEAT) $(if $(BENCH_ONLY),--only $(BENCH_ONLY)) \
	  $(if $(BENCH_QUICK),--quick)

clean:
	rm -rf $(BUILD)
