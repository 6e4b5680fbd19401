#include "job/pyvalue.hpp"

#include <atomic>
#include <mutex>
#include <vector>

namespace rask::job {

namespace {
std::mutex g_deferred_mutex;
std::vector<PyObject*> g_deferred;
std::atomic<bool> g_any_deferred{false};

// A new reference to a module attribute, cached for the process; needs the GIL.
PyObject* cached_attr(PyObject*& slot, const char* module, const char* name) {
  if (!slot) {
    PyObject* m = PyImport_ImportModule(module);
    if (!m) return nullptr;
    slot = PyObject_GetAttrString(m, name);
    Py_DECREF(m);
  }
  return slot;
}
void (*g_observer)(std::size_t) = nullptr;
PyObject* g_dumps = nullptr;
PyObject* g_loads = nullptr;
PyObject* g_format_exception = nullptr;

void encode(const Value& v, Writer& w) {
  const PyValue& value = v.get<PyValue>();
  TaskGil gil;
  // A value only passing through (received, never unpickled here) is sent as it came.
  if (!value.ref->object) {
    w.write(value.ref->pickled);
    if (g_observer) g_observer(value.ref->pickled.size());
    return;
  }
  PyObject* dumps = cached_attr(g_dumps, "cloudpickle", "dumps");
  PyObject* bytes = dumps ? PyObject_CallFunction(dumps, "Oi", value.ref->object, 5) : nullptr;
  if (!bytes) throw std::runtime_error(take_python_error(false));
  char* data = nullptr;
  Py_ssize_t size = 0;
  PyBytes_AsStringAndSize(bytes, &data, &size);
  w.write(static_cast<std::uint64_t>(size));
  if (g_observer) g_observer(static_cast<std::size_t>(size));
  w.write_bytes(data, static_cast<std::size_t>(size));
  Py_DECREF(bytes);
}

Value decode(Reader& r) { return Value(PyValue{std::make_shared<PyRef>(r.read<std::string>())}); }
}  // namespace

PyRef::~PyRef() {
  if (!object) return;
  if (PyGILState_Check()) {
    Py_DECREF(object);
    return;
  }
  std::lock_guard lock(g_deferred_mutex);
  g_deferred.push_back(object);
  g_any_deferred.store(true, std::memory_order_release);
}

void drain_deferred() {
  if (!g_any_deferred.load(std::memory_order_acquire)) return;
  std::vector<PyObject*> objects;
  {
    std::lock_guard lock(g_deferred_mutex);
    objects.swap(g_deferred);
    g_any_deferred.store(false, std::memory_order_release);
  }
  for (PyObject* o : objects) Py_DECREF(o);
}

PyObject* PyValue::object() const {
  if (!ref->object) {
    PyObject* loads = cached_attr(g_loads, "pickle", "loads");
    if (!loads) return nullptr;
    PyObject* bytes = PyBytes_FromStringAndSize(ref->pickled.data(), static_cast<Py_ssize_t>(ref->pickled.size()));
    if (!bytes) return nullptr;
    ref->object = PyObject_CallOneArg(loads, bytes);
    Py_DECREF(bytes);
    if (ref->object) std::string().swap(ref->pickled);
  }
  return ref->object;
}

void observe_encoded(void (*observer)(std::size_t bytes)) { g_observer = observer; }

const Codec* pyvalue_codec() {
  static const Codec codec{"Python object (pickled)", true, 64, encode, decode};
  return &codec;
}

TaskGil::TaskGil() {
  // First use on this thread: make its thread state and keep it (counter stays >= 1).
  thread_local bool pinned = false;
  if (!pinned) {
    PyGILState_Ensure();
    PyEval_SaveThread();
    pinned = true;
  }
  state_ = PyGILState_Ensure();
  drain_deferred();
}

TaskGil::~TaskGil() { PyGILState_Release(state_); }

std::string take_python_error(bool traceback) {
  PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
  PyErr_Fetch(&type, &value, &tb);
  if (!type) return "unknown Python error";
  PyErr_NormalizeException(&type, &value, &tb);
  if (!traceback) {
    // Only "Type: message": pickling's own frames would not help the user.
    std::string text = reinterpret_cast<PyTypeObject*>(type)->tp_name;
    if (PyObject* str = PyObject_Str(value)) {
      if (const char* s = PyUnicode_AsUTF8(str)) text += std::string(": ") + s;
      Py_DECREF(str);
    }
    PyErr_Clear();
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return text;
  }
  if (tb) PyException_SetTraceback(value, tb);
  std::string text;
  PyObject* format = cached_attr(g_format_exception, "traceback", "format_exception");
  PyObject* lines = format ? PyObject_CallFunctionObjArgs(format, type, value, tb ? tb : Py_None, nullptr) : nullptr;
  if (lines) {
    for (Py_ssize_t line_idx = 0; line_idx < PyList_Size(lines); ++line_idx)
      if (const char* s = PyUnicode_AsUTF8(PyList_GetItem(lines, line_idx))) text += s;
    Py_DECREF(lines);
  }
  PyErr_Clear();
  while (!text.empty() && text.back() == '\n') text.pop_back();
  // Python ends its report with "Type: message"; lead with it, as a one-line summary.
  auto last_line = text.rfind('\n');
  if (last_line != std::string::npos && text.rfind("Traceback (most recent call last):", 0) == 0)
    text = text.substr(last_line + 1) + "\n" + text.substr(0, last_line);
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
  return text;
}

}  // namespace rask::job
