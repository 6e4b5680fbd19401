#pragma once
// Python objects as task values, and the GIL as task bodies on OpenMP threads take it.
//
// A task value must be safe to copy and drop on any thread, with or without the GIL,
// because the executor frees values where it likes. So a value is a shared pointer to
// a PyRef; dropping the last reference without the GIL defers the Py_DECREF to the next
// thread that holds it (drain_deferred), instead of taking the GIL just to decrement.
#include <Python.h>

#include <memory>
#include <string>

#include "rask/value.hpp"

namespace rask::job {

/// One Python object, or its pickled bytes as they arrived from another rank (unpickled
/// by the first consumer, under the GIL).
struct PyRef {
  PyObject* object = nullptr;  // owned reference, or null while only `pickled` is known
  std::string pickled;
  explicit PyRef(PyObject* owned) : object(owned) {}
  explicit PyRef(std::string bytes) : pickled(std::move(bytes)) {}
  PyRef(const PyRef&) = delete;
  PyRef& operator=(const PyRef&) = delete;
  ~PyRef();
};

/// The Value a Python task returns.
struct PyValue {
  std::shared_ptr<PyRef> ref;
  /// The object (a borrowed reference), unpickling it first if it came from another
  /// rank. Needs the GIL; returns null with a Python error set when unpickling fails.
  PyObject* object() const;
};

/// How a PyValue crosses ranks: pickled (cloudpickle, so functions defined in the script
/// travel too) by the thread that made it, under the GIL.
const Codec* pyvalue_codec();

/// Registers a function told the size of each value pickled to cross ranks, on the
/// thread that pickles it (the thread that ran the task, right after it). For --trace.
void observe_encoded(void (*observer)(std::size_t bytes));

/// Decrements deferred by PyRefs dropped without the GIL. Needs the GIL.
void drain_deferred();

/// Holds the GIL for one task body on any thread. Each thread keeps its Python thread
/// state for the life of the process, so taking the GIL costs a lock, not a thread
/// state's creation and destruction per task.
class TaskGil {
 public:
  TaskGil();
  ~TaskGil();
  TaskGil(const TaskGil&) = delete;
  TaskGil& operator=(const TaskGil&) = delete;

 private:
  PyGILState_STATE state_;
};

/// The pending Python error, cleared: "Type: message", then with `traceback` Python's
/// own report of where it was raised. Needs the GIL and a pending error.
std::string take_python_error(bool traceback = true);

}  // namespace rask::job
