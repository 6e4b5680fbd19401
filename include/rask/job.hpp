#pragma once
/// Job scripts: a Python file written against Dask's API, run on the whole MPI job by
/// the `rask` program (`mpirun -n K rask run job.py`). Rank 0 interprets the script in
/// an embedded CPython, where `import dask` and `dask.distributed` resolve to rask's
/// own modules; at each compute it broadcasts the graph (pickled once) and every rank
/// builds the same rask::Graph and runs its share. The other ranks wait in C++ for
/// graphs until rank 0 says the script has ended.
///
/// CostTable is part of the rask library; run_job lives in the `rask` program's own
/// library (target `rask_job`, which links libpython), so C++ programs that only read
/// cost files need no Python.
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "rask/runtime.hpp"

namespace rask {

/// Local: seconds per call of each function, learned from runs: the cost hints that let a
/// job's second run plan better than its first, and `--dry-run` predict a wall time. No
/// MPI; a job's rank 0 reads the file and broadcasts it, so every rank plans alike.
///
/// The file is text, one function per line, written by `rask run` beside the job
/// (`job.py` -> `job.rask-costs`) at the end of each successful run that computed
/// something; lines starting with `#` are comments:
///
///     # rask cost file: name <TAB> mean seconds per call <TAB> calls measured
///     inc	0.0200512	1250
///
/// A task's name is its key up to the last '-' (`inc-1f3a...` -> `inc`), the function's
/// name for delayed calls. C++ programs use it through TaskOptions::cost:
///
///     auto costs = rask::CostTable::read("cartesian.rask-costs");
///     auto f = rask::delayed(slow, {.cost = costs.seconds("slow", 0.02)});
class CostTable {
 public:
  /// Reads a cost file; a missing file gives an empty table. Throws InputError naming
  /// the file and line when a line is not `name seconds calls`.
  static CostTable read(const std::string& path);
  /// Parses the text of a cost file (`origin` names it in errors).
  static CostTable parse(const std::string& text, const std::string& origin);
  /// Writes the table under a temporary name and renames it over `path`.
  void write(const std::string& path) const;
  /// The text write() would write.
  std::string text() const;

  /// Mean seconds per call of `name`, or `fallback` when unknown.
  double seconds(const std::string& name, double fallback = -1) const;
  /// Adds measured calls: `calls` calls that took `seconds` in all.
  void add(const std::string& name, double seconds, std::size_t calls = 1);
  /// Entries of `newer` replace this table's (a run's measurements replace the last).
  void update(const CostTable& newer);
  bool empty() const noexcept { return entries_.empty(); }
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct Entry {
    double total_seconds = 0;
    std::size_t calls = 0;
  };
  std::map<std::string, Entry> entries_;
};

/// The cost file of a job script: beside it, `.py` replaced by `.rask-costs` (a notebook
/// keeps its name: `nb.ipynb.rask-costs`, apart from a script `nb.py`'s).
std::string cost_file_for(const std::string& script);

/// What `rask run` was asked to do; every rank must hold the same options.
struct JobOptions {
  std::string script;             ///< the job script's path
  std::vector<std::string> args;  ///< its arguments (sys.argv[1:])
  bool dry_run = false;           ///< plan every compute and print the plan; run no task
  std::string visualize;          ///< draw each compute's graph to this file (.dot/.svg/.png/.pdf)
  std::string trace;              ///< write a Chrome-trace JSON of every task here
  bool progress = false;          ///< print a progress line per compute on rank 0
  std::string costs;              ///< cost file; empty: cost_file_for(script)
  bool learn_costs = true;        ///< write the measured costs back at the end
  bool summary = true;            ///< print the one-line summary on rank 0 at the end
  // A notebook (`script` ending in .ipynb), papermill's and nbconvert's options:
  std::string output;  ///< the executed notebook; empty: NOTEBOOK.rask.ipynb beside it
  std::vector<std::pair<std::string, std::string>> parameters;  ///< -p NAME VALUE, in order
  bool allow_errors = false;  ///< run every cell even after one raised
};

/// Whether `path` names a notebook (ends in .ipynb), which `rask run` runs cell by cell.
bool is_notebook(const std::string& path);

/// The executed notebook's default path: `nb.ipynb` -> `nb.rask.ipynb`, beside it.
std::string executed_notebook_for(const std::string& notebook);

/// Collective: every rank must call it with the same options, else the job hangs. Runs
/// the job script and returns its exit status, the same on every rank: 0 when the script
/// ended normally (or with sys.exit(0)), its sys.exit code, 1 when it raised (Python's
/// traceback is printed by rank 0). A notebook runs cell by cell through IPython on
/// rank 0 and is written executed to `output`: 0 when every cell ran (or with
/// `allow_errors`), 1 when a cell raised and stopped it. `runtime` must outlive the call.
int run_job(Runtime& runtime, const JobOptions& options);

}  // namespace rask
