// The checked HDF5 layer: its lock and its one error mapper.
#include "io/hdf5.hpp"

namespace rask::detail {

namespace {

std::recursive_mutex& hdf5_mutex() {
  static std::recursive_mutex m;
  return m;
}

}  // namespace

// Set at every lock, not once: anything else in the process (h5py in a job script)
// may have turned printing back on.
Hdf5Lock::Hdf5Lock() : lock_(hdf5_mutex()) {
  check(H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr), "turn off its error printing");
}

// Its own calls go unchecked: it is what a failed check calls.
std::string hdf5_stack() {
  std::string out;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* e, void* data) -> herr_t {
        auto& s = *static_cast<std::string*>(data);
        if (!e->desc || !*e->desc) return 0;
        // Keep the reason; HDF5's "time = ..., name = ..." details repeat what we print.
        std::string desc = e->desc;
        if (auto cut = desc.find(": time ="); cut != std::string::npos) desc.resize(cut);
        for (char& c : desc)
          if (c == '\n') c = ' ';
        s += (s.empty() ? "" : "; ") + desc;
        return 0;
      },
      &out);
  H5Eclear2(H5E_DEFAULT);
  return out.empty() ? "no detail from HDF5" : out;
}

}  // namespace rask::detail
