// From read_csv's arguments to files, schema and blocks. Every rank runs this on the
// same files and gets the same answer, so every error here is collective (InputError).
#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fast_float/fast_float.h>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>

#include "frame/csv.hpp"
#include "frame/file.hpp"

namespace rask::detail {

namespace {

// glob(3)'s result, freed with it.
class GlobResult {
 public:
  explicit GlobResult(const std::string& pattern) { status_ = ::glob(pattern.c_str(), GLOB_ERR, nullptr, &g_); }
  ~GlobResult() { ::globfree(&g_); }
  GlobResult(const GlobResult&) = delete;
  GlobResult& operator=(const GlobResult&) = delete;
  std::vector<std::string> paths() const {
    if (status_ != 0) return {};
    return std::vector<std::string>(g_.gl_pathv, g_.gl_pathv + g_.gl_pathc);
  }

 private:
  glob_t g_{};
  int status_ = 0;
};

std::vector<std::string> split_header(std::string_view line, char sep) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  for (std::size_t pos = 0; pos < line.size(); ++pos) {
    const char c = line[pos];
    if (quoted) {
      if (c == '"' && pos + 1 < line.size() && line[pos + 1] == '"')
        field += '"', ++pos;
      else if (c == '"')
        quoted = false;
      else
        field += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == sep) {
      fields.push_back(std::move(field));
      field.clear();
    } else {
      field += c;
    }
  }
  fields.push_back(std::move(field));
  return fields;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// The first line of a file (without its line end) and where the next begins.
std::string first_line(const ReadFile& file, std::int64_t size, std::int64_t& next) {
  std::string line;
  std::int64_t offset = 0;
  char chunk[65536];
  while (offset < size) {
    const std::size_t got = file.read_at(chunk, sizeof chunk, offset);
    const char* nl = static_cast<const char*>(std::memchr(chunk, '\n', got));
    if (nl) {
      line.append(chunk, static_cast<std::size_t>(nl - chunk));
      next = offset + (nl - chunk) + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    line.append(chunk, got);
    offset += static_cast<std::int64_t>(got);
  }
  next = size;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

bool is_int(std::string_view s) {
  std::int64_t v;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size();
}

bool is_float(std::string_view s) {
  double v;
  auto [end, ec] = fast_float::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size();
}

bool is_bool(std::string_view s) {
  return s == "True" || s == "False" || s == "true" || s == "false" || s == "TRUE" || s == "FALSE";
}

}  // namespace

int CsvSource::column(const std::string& name) const {
  auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

std::string CsvSource::column_list() const { return join(names); }

DType parse_dtype(const std::string& text, const std::string& column) {
  if (auto dtype = parse_dtype_name(text)) return *dtype;
  throw InputError("read_csv: dtype '" + text + "' for column '" + column +
                   "' is not known; use \"float64\", \"int64\", \"bool\", \"string\" or \"datetime64[ns]\"");
}

namespace {
CsvSource resolve(const FrameNode& node);
}  // namespace

CsvSource resolve_source(const FrameNode& node) {
  // Every rank lists and reads the same files, so even an I/O failure here (permissions,
  // a file removed meanwhile) is seen by all: collective.
  try {
    return resolve(node);
  } catch (const InputError&) {
    throw;
  } catch (const Error& e) {
    throw InputError(std::string("read_csv: ") + e.what());
  }
}

namespace {
CsvSource resolve(const FrameNode& node) {
  const ReadCsv& read = node.as<ReadCsv>();
  CsvSource src;
  src.options = read.options;
  const auto& opt = src.options;
  src.description = "read_csv('" + join(read.paths) + "')";
  if (opt.on_bad_lines != "error" && opt.on_bad_lines != "skip" && opt.on_bad_lines != "warn")
    throw InputError("read_csv: on_bad_lines='" + opt.on_bad_lines +
                     "' is not known; use \"error\", \"skip\" or \"warn\"");
  if (opt.header != 0 && opt.header != -1)
    throw InputError("read_csv: header=" + std::to_string(opt.header) +
                     " is not supported; use 0 (first line is the header) or -1 (no header; give names=)");
  if (opt.header == -1 && opt.names.empty())
    throw InputError("read_csv: header=-1 needs names= (the column names, since the files have no header line)");
  if (opt.blocksize < 0) throw InputError("read_csv: blocksize must be >= 0 (0: one block per file)");
  if (opt.sep == '"' || opt.sep == '\n' || opt.sep == '\r')
    throw InputError("read_csv: sep cannot be a quote or a line end");

  std::vector<std::string> paths;
  for (const auto& entry : read.paths) {
    // hdfs://, s3://, http://: no such file system is reachable from a job; say so rather
    // than "no files match".
    if (const auto scheme = entry.find("://"); scheme != std::string::npos && scheme > 0 &&
                                               entry.find_first_of("/*?[") >= scheme)
      throw InputError("read_csv: '" + entry + "' names the " + entry.substr(0, scheme) +
                       ":// scheme, which rask cannot reach; it reads files the ranks see\nPossible fixes:\n  * "
                       "give local (or shared file system) paths: a path, a glob ('data/*.csv') or a list of them");
    if (entry.find_first_of("*?[") != std::string::npos) {
      auto matches = GlobResult(entry).paths();
      if (matches.empty())
        throw InputError("read_csv: no files match '" + entry +
                         "'\nPossible fixes:\n  * check the pattern and the "
                         "working directory (paths are relative to where the job was started)");
      std::sort(matches.begin(), matches.end());
      paths.insert(paths.end(), matches.begin(), matches.end());
    } else {
      paths.push_back(entry);
    }
  }

  for (const auto& path : paths) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      throw InputError("read_csv: '" + path + "' " +
                       (::stat(path.c_str(), &st) != 0 ? "does not exist" : "is not a regular file") +
                       "\nPossible fixes:\n  * check the path and the working directory");
    CsvFile file;
    file.path = path;
    file.size = st.st_size;
    if (file.size == 0)
      throw InputError("read_csv: " + path +
                       " is empty (no header line, no rows)\nPossible fixes:\n  * remove the "
                       "file or leave it out of the pattern");
    ReadFile handle(path);
    std::int64_t next = 0;
    const std::string line = first_line(handle, file.size, next);
    auto fields = split_header(line, opt.sep);
    file.nfields = static_cast<int>(fields.size());
    if (opt.header == 0) {
      file.data_begin = next;
      if (!opt.names.empty()) {
        if (opt.names.size() != fields.size())
          throw InputError("read_csv: " + path + ":1: the header has " + std::to_string(fields.size()) +
                           " fields but names= gives " + std::to_string(opt.names.size()));
        fields = opt.names;
      }
    } else {
      if (opt.names.size() != fields.size())
        throw InputError("read_csv: " + path + ":1: the line has " + std::to_string(fields.size()) +
                         " fields but names= gives " + std::to_string(opt.names.size()));
      fields = opt.names;
    }
    std::set<std::string> seen;
    for (const auto& f : fields)
      if (!seen.insert(f).second)
        throw InputError("read_csv: " + path + ":1: the header names column '" + f + "' twice");

    if (src.files.empty()) {
      // The first file sets the frame's columns and their order.
      for (const auto& f : fields)
        if (opt.usecols.empty() || std::find(opt.usecols.begin(), opt.usecols.end(), f) != opt.usecols.end())
          src.names.push_back(f);
      for (const auto& u : opt.usecols)
        if (!seen.count(u))
          throw InputError("read_csv: usecols names column '" + u + "', which " + path +
                           " does not have (it has: " + join(fields) + ")");
    } else if (opt.usecols.empty()) {
      std::vector<std::string> missing, extra;
      for (const auto& n : src.names)
        if (!seen.count(n)) missing.push_back(n);
      for (const auto& f : fields)
        if (std::find(src.names.begin(), src.names.end(), f) == src.names.end()) extra.push_back(f);
      if (!missing.empty() || !extra.empty())
        throw InputError("read_csv: " + path + ":1: the header differs from " + src.files[0].path + "'s (" +
                         (missing.empty() ? "" : "missing: " + join(missing)) +
                         (missing.empty() || extra.empty() ? "" : "; ") +
                         (extra.empty() ? "" : "extra: " + join(extra)) +
                         ")\nPossible fixes:\n  * read files of different layouts with separate read_csv calls\n"
                         "  * usecols=[...] naming only the columns every file has");
    }
    for (const auto& n : src.names) {
      auto it = std::find(fields.begin(), fields.end(), n);
      if (it == fields.end())
        throw InputError("read_csv: " + path + ":1: has no column '" + n + "' (it has: " + join(fields) +
                         ")\nPossible fixes:\n  * usecols=[...] naming only the columns every file has");
      file.field_of.push_back(static_cast<int>(it - fields.begin()));
    }
    src.files.push_back(std::move(file));
  }

  // Types: parse_dates and dtype= first, the rest inferred from the first file's start.
  src.dtypes.assign(src.names.size(), DType::string);
  std::vector<bool> fixed(src.names.size(), false);
  for (const auto& d : opt.parse_dates) {
    const int col = src.column(d);
    if (col < 0)
      throw InputError("read_csv: parse_dates names column '" + d +
                       "', which the files do not have (they have: " + src.column_list() + ")");
    src.dtypes[col] = DType::timestamp;
    fixed[col] = true;
  }
  for (const auto& [name, text] : opt.dtype) {
    const int col = src.column(name);
    if (col < 0)
      throw InputError("read_csv: dtype names column '" + name +
                       "', which the files do not have (they have: " + src.column_list() + ")");
    src.dtypes[col] = parse_dtype(text, name);
    fixed[col] = true;
  }
  const CsvFile& first = src.files[0];
  const std::int64_t sample_size = std::min<std::int64_t>(first.size - first.data_begin, 256 << 10);
  std::string sample(static_cast<std::size_t>(sample_size), '\0');
  ReadFile(first.path).read_at(sample.data(), sample.size(), first.data_begin);
  if (first.data_begin + sample_size < first.size) sample.erase(sample.rfind('\n') + 1);  // whole lines only
  // Per column: how many sampled values are ints, other numbers, bools, other text.
  // A column is numeric when numbers are at least half of its values, so one bad value
  // early in a file is reported with its place rather than turning the column to text.
  struct Seen {
    std::size_t empty = 0, ints = 0, floats = 0, bools = 0, other = 0;
  };
  std::vector<Seen> seen(src.names.size());
  std::size_t start = 0;
  for (int line_idx = 0; line_idx < 1000 && start < sample.size(); ++line_idx) {
    std::size_t nl = sample.find('\n', start);
    if (nl == std::string::npos) nl = sample.size();
    std::string_view line(sample.data() + start, nl - start);
    start = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const auto fields = split_header(line, opt.sep);
    if (static_cast<int>(fields.size()) != first.nfields) continue;  // reported when the block is parsed
    for (std::size_t col = 0; col < src.names.size(); ++col) {
      const std::string& f = fields[first.field_of[col]];
      Seen& s = seen[col];
      if (f.empty() || f == "NA" || f == "N/A" || f == "NULL" || f == "null")
        ++s.empty;
      else if (is_int(f))
        ++s.ints;
      else if (is_float(f))
        ++s.floats;
      else if (is_bool(f))
        ++s.bools;
      else
        ++s.other;
    }
  }
  for (std::size_t col = 0; col < src.names.size(); ++col) {
    if (fixed[col]) continue;
    const Seen& s = seen[col];
    const std::size_t numbers = s.ints + s.floats;
    if (numbers + s.bools + s.other == 0)
      src.dtypes[col] = DType::float64;  // all missing, as pandas
    else if (s.bools && s.bools >= numbers + s.other)
      src.dtypes[col] = s.empty ? DType::string : DType::boolean;
    else if (numbers && numbers >= s.other + s.bools)
      src.dtypes[col] = s.floats || s.empty ? DType::float64 : DType::int64;
    else
      src.dtypes[col] = DType::string;
  }
  return src;
}
}  // namespace

std::vector<CsvBlock> split_blocks(const CsvSource& source) {
  std::vector<CsvBlock> blocks;
  const std::int64_t blocksize = source.options.blocksize;
  for (std::uint32_t file_idx = 0; file_idx < source.files.size(); ++file_idx) {
    const CsvFile& f = source.files[file_idx];
    std::int64_t begin = f.data_begin;
    for (std::uint32_t block_idx = 0;; ++block_idx) {
      CsvBlock b;
      b.file = file_idx;
      b.block_in_file = block_idx;
      b.begin = begin;
      // A last block smaller than half a block is merged into the one before.
      const bool last = blocksize == 0 || begin + blocksize + blocksize / 2 >= f.size;
      b.end = last ? f.size : begin + blocksize;
      b.last_in_file = last;
      blocks.push_back(b);
      if (last) break;
      begin = b.end;
    }
  }
  return blocks;
}

}  // namespace rask::detail
