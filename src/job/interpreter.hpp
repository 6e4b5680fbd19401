#pragma once
// The embedded interpreter of a job: rask's Python modules (src/job/python, carried in
// the program), found ahead of anything installed, so that `import dask` means rask's
// dask whatever else the machine has; and the embedded module _rask, Python's way into
// the running job.
#include <string>

#include "rask/job.hpp"

namespace rask::job {

struct Job;

/// Local, holding the GIL of a started interpreter: makes rask's modules importable, puts
/// the script's directory first on sys.path, loads what every graph travels through and
/// keeps in `job` the objects task bodies compare against.
void load_modules(Job& job, const std::string& script);

/// Local (rank 0), holding the GIL: runs the job script as __main__ and returns its exit
/// status; Python prints any error itself, as `python3 job.py` would, without rask's
/// own frames.
int run_script(const std::string& path);

/// Local (rank 0), holding the GIL: runs the notebook `options.script` cell by cell
/// through IPython's shell (src/job/python/rask/notebook.py) and writes it executed;
/// returns the job's exit status.
int run_notebook(const JobOptions& options);

/// Local: drops the Python objects `job` holds (before the interpreter ends).
void unload_modules(Job& job);

}  // namespace rask::job
