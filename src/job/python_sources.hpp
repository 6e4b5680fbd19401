#pragma once
// The Python modules the `rask` program carries (src/job/python), embedded at build time.
#include <vector>

namespace rask::job {

struct PythonSource {
  const char* path;    ///< relative to src/job/python, e.g. "dask/distributed.py"
  const char* source;  ///< the file's text
};

const std::vector<PythonSource>& python_sources();

}  // namespace rask::job
