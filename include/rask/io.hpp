#pragma once
/// Input and output: HDF5 reading and parallel writing of arrays (parallel HDF5 built for
/// Open MPI), and the one error every file read or write throws. Frames write through
/// their own members, DataFrame::to_hdf / to_csv and Series::to_hdf / to_csv
/// (rask/frame.hpp), and throw the same IoError.
///
///     rask::Array a = rask::from_hdf5("in.h5", "/x", {300, 200});
///     rask::to_hdf5("out.h5", {{"/y", y}, {"/s", s}});   // collective
#include <string>
#include <utility>
#include <vector>

#include "rask/array.hpp"
#include "rask/error.hpp"

namespace rask {

/// A file that cannot be read or written: missing, the wrong rank or type, an
/// unwritable directory, a full disk, HDF5 refusing it. The message names the file (and
/// the dataset) and carries HDF5's own diagnostic. Collective: every rank throws it
/// together (every rank meets the same file, or the ranks agree on one rank's failure).
class IoError : public Error {
 public:
  explicit IoError(const std::string& m) : Error(m, true) {}
};

/// The name arrays' HDF5 errors had before input and output shared one error type;
/// kept for programs that catch it.
using Hdf5Error = IoError;
/// The name frames' output errors had before input and output shared one error type;
/// kept for programs that catch it.
using OutputError = IoError;

/// Collective: every rank must call it (each reads the dataset's shape and type, so a
/// missing file fails on every rank alike), though it sends no messages. A lazy array
/// over dataset `dataset` of file `path` (0-d, 1-d or 2-d; float, integer or bool), in
/// chunks of the given size per dimension; each chunk is read by the rank that owns it,
/// when a compute needs it. Throws IoError when the file or dataset cannot be read,
/// ShapeError for chunks that do not fit.
Array from_hdf5(const std::string& path, const std::string& dataset, const Shape& chunks);

/// Collective: computes `arrays` and writes each to its dataset of `path` in one
/// parallel-HDF5 write, every rank writing the chunks it holds (a 0-d array is a scalar
/// dataset; bool is written as h5py writes it). The file is written under a temporary
/// name and renamed over `path` when complete, so a failed job leaves an older file
/// untouched. Each dataset gets attributes shape, chunks, dtype, ranks, threads and
/// rask_version. Groups in dataset names ("/a/b") are created. Throws IoError.
void to_hdf5(const std::string& path, const std::vector<std::pair<std::string, Array>>& arrays);

}  // namespace rask
