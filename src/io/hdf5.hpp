#pragma once
// The checked HDF5 layer every reader and writer goes through: one lock (the HDF5
// library here is not built thread-safe), one owner type per kind of identifier, and
// one error mapper that turns HDF5's error stack into the IoError's message.
#include <hdf5.h>

#include <mutex>
#include <string>
#include <utility>

#include "rask/io.hpp"

namespace rask::detail {

/// HDF5's own error stack as one line (each reason, outermost call first, "; " between),
/// then cleared. Callers hold Hdf5Lock.
std::string hdf5_stack();

/// Throws IoError("HDF5 could not <what>: <hdf5_stack()>") when `status` is negative
/// (HDF5's failure value for herr_t, htri_t and hid_t alike); returns it otherwise.
template <class Status>
Status check(Status status, const std::string& what) {
  if (status < 0) throw IoError("HDF5 could not " + what + ": " + hdf5_stack());
  return status;
}

/// Held around every HDF5 call: the process-wide (recursive) lock, and HDF5's automatic
/// printing of errors turned off (the IoError carries them instead).
class Hdf5Lock {
 public:
  Hdf5Lock();

 private:
  std::unique_lock<std::recursive_mutex> lock_;
};

/// One open HDF5 identifier, closed by its kind's `Close` at scope exit.
template <herr_t (*Close)(hid_t)>
class Handle {
 public:
  /// Not open.
  Handle() = default;
  /// Owns `id`; throws IoError naming `what` when HDF5 returned a failure instead.
  Handle(hid_t id, const std::string& what) : id_(check(id, what)) {}
  /// Owns `id` unchecked: the caller tests valid() and words the failure itself (through
  /// hdf5_stack()).
  static Handle unchecked(hid_t id) noexcept {
    Handle h;
    h.id_ = id;
    return h;
  }
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)) {}
  Handle& operator=(Handle&& o) noexcept {
    std::swap(id_, o.id_);
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  // A destructor cannot report: close() first where a failure matters.
  ~Handle() {
    if (id_ >= 0) Close(id_);
  }

  hid_t get() const noexcept { return id_; }
  bool valid() const noexcept { return id_ >= 0; }
  /// Closes now and reports a failure (a file's close is where its data is flushed).
  void close(const std::string& what) { check(Close(std::exchange(id_, H5I_INVALID_HID)), what); }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

using H5File = Handle<H5Fclose>;
using H5Group = Handle<H5Gclose>;
using H5Dataset = Handle<H5Dclose>;
using H5Space = Handle<H5Sclose>;
using H5Type = Handle<H5Tclose>;
using H5Attribute = Handle<H5Aclose>;
using H5Plist = Handle<H5Pclose>;

}  // namespace rask::detail
