// Parsing one block of a CSV file into the columns a result needs.
//
// The block is read with large preads (no mmap: resident memory stays at one block per
// thread however big the file). Fields a result does not need are skipped over without
// conversion. Quoted fields follow RFC 4180 (separators, line ends and "" inside
// quotes). A block other than a file's first assumes its search start lies outside
// quotes; the quote counts of all blocks are checked afterwards (check_quote_parity),
// and on any parse error the assumption is checked first, so a quoted line break
// across a block boundary is reported, never mis-parsed silently.
#include <fast_float/fast_float.h>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <unordered_map>

#include "frame/csv.hpp"
#include "frame/file.hpp"

namespace rask::detail {

void BlockColumn::truncate(std::size_t rows) {
  if (dtype == DType::float64)
    f.resize(rows);
  else if (dtype == DType::string)
    codes.resize(rows);
  else
    i.resize(rows);
}

namespace {

// Byte count of `c` in [from, to) of a file: used on error paths only (line numbers,
// quote parity at a block start), so the normal path never reads a byte twice.
std::int64_t count_in_file(const std::string& path, std::int64_t from, std::int64_t to, char c) {
  ReadFile file(path);
  std::int64_t count = 0;
  auto chunk = std::make_unique_for_overwrite<char[]>(1 << 20);
  while (from < to) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::int64_t>(to - from, 1 << 20));
    const std::size_t got = file.read_at(chunk.get(), want, from);
    if (got == 0) break;
    count += std::count(chunk.get(), chunk.get() + got, c);
    from += static_cast<std::int64_t>(got);
  }
  return count;
}

bool valid_utf8(std::string_view s, std::size_t& bad_at) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  for (std::size_t pos = 0; pos < n;) {
    const unsigned char c = p[pos];
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || pos + len > n || (len == 2 && c < 0xC2)) {
      bad_at = pos;
      return false;
    }
    for (std::size_t k = 1; k < len; ++k)
      if ((p[pos + k] & 0xC0) != 0x80) {
        bad_at = pos;
        return false;
      }
    pos += len;
  }
  return true;
}

std::string shown(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 60)) {
    if (c >= 0x20 && c < 0x7f)
      out += static_cast<char>(c);
    else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return s.size() > 60 ? out + "..." : out;
}

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// A bad line: where, why, and what would fix it.
struct BadLine {
  std::size_t row_start;  // offset in the buffer
  std::string reason;     // after "path:line: "
  std::string fixes;      // "Possible fixes:" lines
};

// The hot path of one field: appends the value and returns true, or returns false (a
// string column, or text that does not parse) for the slow path to handle or report.
// The date part of the last timestamp and its day number: rows of one day share it.
struct DateCache {
  char date[10] = {};
  std::int64_t day_ns = 0;
};

// YYYY-MM-DD HH:MM:SS (or with T) whose date equals the cached one: only the time is parsed.
inline bool same_day_timestamp(std::string_view text, DateCache& cache, std::int64_t& ns) {
  const char* p = text.data();
  if (text.size() != 19 || std::memcmp(p, cache.date, 10) != 0 || (p[10] != ' ' && p[10] != 'T') || p[13] != ':' ||
      p[16] != ':')
    return false;
  unsigned bad = 0;
  auto d = [&](int at) {
    const unsigned v = static_cast<unsigned char>(p[at]) - '0';
    bad |= v > 9;
    return v;
  };
  const unsigned hh = d(11) * 10 + d(12), mm = d(14) * 10 + d(15), ss = d(17) * 10 + d(18);
  if (bad || hh > 23 || mm > 59 || ss > 60) return false;
  ns = cache.day_ns + (hh * 3600 + mm * 60 + ss) * 1000000000LL;
  return true;
}

inline bool append_value(BlockColumn& col, std::string_view text, DateCache& cache) {
  const char* first = text.data();
  const char* last = first + text.size();
  switch (col.dtype) {
    case DType::float64: {
      double v;
      auto [end, ec] = fast_float::from_chars(first, last, v);
      if (ec != std::errc() || end != last) return false;
      col.f.push_back(v);
      return true;
    }
    case DType::timestamp: {
      std::int64_t v;
      if (!same_day_timestamp(text, cache, v)) {
        if (!parse_timestamp(text, v)) return false;
        // A parsed timestamp starts with its date: remember the day it names.
        constexpr std::int64_t day_ns = 86400LL * 1000000000LL;
        std::memcpy(cache.date, text.data(), 10);
        cache.day_ns = (v / day_ns - (v % day_ns < 0)) * day_ns;
      }
      col.i.push_back(v);
      return true;
    }
    case DType::int64: {
      std::int64_t v;
      auto [end, ec] = std::from_chars(first, last, v);
      if (ec != std::errc() || end != last || text.empty()) return false;
      col.i.push_back(v);
      return true;
    }
    default:
      return false;
  }
}

}  // namespace

std::vector<BlockColumn> scan_block(const CsvSource& src, const CsvBlock& blk, const std::vector<int>& wanted,
                                    ScanStats& stats) {
  const CsvFile& file = src.files[blk.file];
  const char sep = src.options.sep;
  const bool skip_bad = src.options.on_bad_lines != "error";
  const int nfields = file.nfields;
  std::vector<int> action(static_cast<std::size_t>(nfields), -1);
  std::vector<BlockColumn> out(wanted.size());
  std::vector<std::unordered_map<std::string, std::int32_t, StringHash, std::equal_to<>>> dicts(wanted.size());
  for (std::size_t k = 0; k < wanted.size(); ++k) {
    out[k].dtype = src.dtypes[wanted[k]];
    action[file.field_of[wanted[k]]] = static_cast<int>(k);
  }

  ReadFile handle(file.path);
  std::unique_ptr<char[]> buf;
  std::size_t size = 0;
  bool eof = false;
  bool quotes_in_buffer = true;
  std::int64_t want_end = blk.last_in_file ? file.size : std::min(file.size, blk.end + (1 << 16));
  auto load = [&] {
    const std::size_t want = static_cast<std::size_t>(want_end - blk.begin);
    auto next = std::make_unique_for_overwrite<char[]>(want + 1);
    if (size) std::memcpy(next.get(), buf.get(), size);
    size += handle.read_at(next.get() + size, want - size, blk.begin + static_cast<std::int64_t>(size));
    buf = std::move(next);
    eof = blk.begin + static_cast<std::int64_t>(size) >= file.size;
    buf[size] = '\n';  // a sentinel: field scans stop here without a bounds check
    quotes_in_buffer = std::memchr(buf.get(), '"', size) != nullptr;
  };
  auto grow = [&] {
    want_end = std::min(file.size, blk.begin + static_cast<std::int64_t>(2 * size) + (1 << 16));
    load();
  };
  load();

  const std::size_t limit = static_cast<std::size_t>(blk.end - blk.begin);

  // Physical line number of a buffer offset (error path only).
  std::int64_t lines_before = -1;
  auto line_of = [&](std::size_t offset) {
    if (lines_before < 0) lines_before = count_in_file(file.path, 0, blk.begin, '\n');
    return lines_before + std::count(buf.get(), buf.get() + offset, '\n') + 1;
  };
  // A parse error in a block whose first line break was inside quotes is really a split
  // problem. Right after a line break the quote parity is exact (no "" pair straddles
  // it), so the quotes before the block's start decide.
  std::int64_t start = blk.begin;
  auto check_start_parity = [&] {
    if (blk.block_in_file == 0) return;
    if (count_in_file(file.path, 0, start, '"') % 2 == 0) return;
    throw_split_error(file.path, blk.begin);
  };

  std::size_t p = 0;
  if (blk.block_in_file > 0) {
    for (;;) {
      const void* nl = std::memchr(buf.get(), '\n', size);
      if (nl) {
        p = static_cast<std::size_t>(static_cast<const char*>(nl) - buf.get()) + 1;
        break;
      }
      if (eof) {
        p = size;
        break;
      }
      grow();
    }
  }
  start = blk.begin + static_cast<std::int64_t>(p);
  stats.start = start;

  // Converts one wanted field into its column; a BadLine when it cannot.
  auto convert = [&](int k, std::string_view text, std::size_t row_start) -> std::optional<BadLine> {
    std::optional<BadLine> bad;
    BlockColumn& col = out[static_cast<std::size_t>(k)];
    const std::string& name = src.names[wanted[static_cast<std::size_t>(k)]];
    auto cannot = [&](const char* type, const std::string& fix) {
      bad = BadLine{row_start, "column '" + name + "': cannot parse \"" + shown(text) + "\" as " + type, fix};
    };
    switch (col.dtype) {
      case DType::float64: {
        double v;
        if (text.empty()) {
          v = std::numeric_limits<double>::quiet_NaN();
        } else {
          auto [end, ec] = fast_float::from_chars(text.data(), text.data() + text.size(), v);
          if (ec != std::errc() || end != text.data() + text.size()) {
            if (text == "NA" || text == "N/A" || text == "NULL" || text == "null" || text == "NaN" || text == "nan") {
              v = std::numeric_limits<double>::quiet_NaN();
            } else {
              cannot("float64", "  * dtype={{\"" + name + "\", \"string\"}} to read the column as text\n");
              break;
            }
          }
        }
        col.f.push_back(v);
        break;
      }
      case DType::int64: {
        std::int64_t v;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
          cannot("int64", "  * dtype={{\"" + name +
                              "\", \"float64\"}} if the column holds decimals or missing values "
                              "(its type was inferred from the first rows)\n");
          break;
        }
        col.i.push_back(v);
        break;
      }
      case DType::boolean: {
        if (text == "True" || text == "true" || text == "TRUE")
          col.i.push_back(1);
        else if (text == "False" || text == "false" || text == "FALSE")
          col.i.push_back(0);
        else
          cannot("bool", "  * dtype={{\"" + name + "\", \"string\"}} to read the column as text\n");
        break;
      }
      case DType::timestamp: {
        std::int64_t v;
        if (text.empty())
          v = std::numeric_limits<std::int64_t>::min();
        else if (!parse_timestamp(text, v)) {
          cannot("datetime64[ns]",
                 "  * leave the column out of parse_dates to read it as text\n"
                 "  * write timestamps as YYYY-MM-DD HH:MM:SS[.fffffffff] (or with T, or a date alone)\n");
          break;
        }
        col.i.push_back(v);
        break;
      }
      case DType::string: {
        if (text.empty()) {  // missing, as pandas reads an empty field: code -1
          col.codes.push_back(-1);
          break;
        }
        auto& dict = dicts[static_cast<std::size_t>(k)];
        auto it = dict.find(text);
        std::int32_t code;
        if (it != dict.end()) {
          code = it->second;
        } else {
          std::size_t bad_at = 0;
          if (!valid_utf8(text, bad_at)) {
            bad = BadLine{row_start,
                          "column '" + name + "': \"" + shown(text) + "\" is not UTF-8 (byte " +
                              std::to_string(bad_at + 1) + " of the field)",
                          "  * convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)\n"};
            break;
          }
          code = static_cast<std::int32_t>(col.dict.size());
          col.dict.emplace_back(text);
          dict.emplace(col.dict.back(), code);
        }
        col.codes.push_back(code);
        break;
      }
    }
    return bad;
  };

  std::vector<DateCache> date_cache(out.size());
  std::string scratch;  // a quoted field with "" escapes, unescaped
  std::size_t rows = 0;
  for (;;) {
    if (!blk.last_in_file && p > limit) break;
    if (p >= size) {
      if (eof) break;
      grow();
      continue;
    }
    const char* data = buf.get();
    const std::size_t row_start = p;
    // Blank lines are skipped, as pandas does.
    if (data[p] == '\n') {
      ++p;
      continue;
    }
    if (data[p] == '\r' && (p + 1 == size ? eof : data[p + 1] == '\n')) {
      p += p + 1 == size ? 1 : 2;
      continue;
    }
    std::optional<BadLine> bad;
    bool need_more = false;
    if (!quotes_in_buffer) {
      // The common case, no quote in sight: the line ends at the next '\n' (found by
      // memchr), its fields at each separator.
      // One pass over the line: each byte is compared with the separator and '\n' only
      // (the '\n' sentinel after the buffer ends the last line).
      int field = 0;
      std::size_t q = p;
      for (;; ++field) {
        const std::size_t field_start = q;
        while (data[q] != sep && data[q] != '\n') ++q;
        if (field < nfields && action[field] >= 0 && !bad) {
          std::size_t field_end = q;
          if (data[q] == '\n' && field_end > field_start && data[field_end - 1] == '\r') --field_end;
          const std::string_view text(data + field_start, field_end - field_start);
          const auto k = static_cast<std::size_t>(action[field]);
          if (!append_value(out[k], text, date_cache[k])) bad = convert(action[field], text, row_start);
        }
        if (data[q] == '\n') break;
        ++q;
      }
      if (q == size && !eof) {
        for (auto& col : out) col.truncate(rows);
        p = row_start;
        grow();
        continue;
      }
      if (field + 1 != nfields)
        bad = BadLine{
            row_start,
            "expected " + std::to_string(nfields) + " fields (as the header), found " + std::to_string(field + 1), ""};
      p = q > p && data[q - 1] == '\r' ? q - 1 : q;
    } else {
      for (int field = 0; field < nfields; ++field) {
        std::string_view text;
        if (p < size && data[p] == '"') {
          // Quoted: up to the closing quote; "" stands for one quote.
          std::size_t q = p + 1;
          bool escaped = false;
          for (;;) {
            const void* hit = q < size ? std::memchr(data + q, '"', size - q) : nullptr;
            if (!hit) break;
            q = static_cast<std::size_t>(static_cast<const char*>(hit) - data);
            if (q + 1 < size && data[q + 1] == '"') {
              escaped = true;
              q += 2;
              continue;
            }
            break;
          }
          // At the buffer's end we cannot yet tell whether "" follows: read more first.
          if (q >= size || data[q] != '"' || (q + 1 == size && !eof)) {
            if (!eof) {
              need_more = true;
              break;
            }
            check_start_parity();
            throw Error(file.path + ":" + std::to_string(line_of(row_start)) + ": column " + std::to_string(field + 1) +
                        ": a quoted field opened here is still open at the end of the file\n"
                        "Possible fixes:\n  * close the quote (a quote inside a quoted field is written \"\")");
          }
          text = std::string_view(data + p + 1, q - p - 1);
          if (escaped && action[field] >= 0) {
            scratch.clear();
            for (std::size_t k = 0; k < text.size(); ++k) {
              scratch += text[k];
              if (text[k] == '"') ++k;
            }
            text = scratch;
          }
          p = q + 1;
        } else {
          const std::size_t start = p;
          while (p < size) {
            const char c = data[p];
            if (c == sep || c == '\n') break;
            if (c == '\r' && (p + 1 == size || data[p + 1] == '\n')) break;
            ++p;
          }
          if (p == size && !eof) {
            need_more = true;
            break;
          }
          text = std::string_view(data + start, p - start);
        }
        // What ends the field: a separator before the last field, a line end after it.
        const bool line_end = p >= size || data[p] == '\n' || data[p] == '\r';
        if (field + 1 < nfields) {
          if (line_end || data[p] != sep) {
            if (!line_end) {
              bad = BadLine{row_start, "column " + std::to_string(field + 1) + ": text after a closing quote", ""};
            } else {
              bad = BadLine{
                  row_start,
                  "expected " + std::to_string(nfields) + " fields (as the header), found " + std::to_string(field + 1),
                  ""};
            }
            break;
          }
          ++p;
        } else if (!line_end) {
          if (data[p] == sep) {
            std::size_t found = static_cast<std::size_t>(nfields);
            for (std::size_t k = p; k < size && data[k] != '\n'; ++k) found += data[k] == sep;
            bad = BadLine{
                row_start,
                "expected " + std::to_string(nfields) + " fields (as the header), found " + std::to_string(found), ""};
          } else {
            bad = BadLine{row_start, "column " + std::to_string(field + 1) + ": text after a closing quote", ""};
          }
          break;
        }
        const int k = action[field];
        if (k < 0) continue;
        bad = convert(k, text, row_start);
        if (bad) break;
      }
    }
    if (need_more) {
      for (auto& col : out) col.truncate(rows);
      p = row_start;
      grow();
      continue;
    }
    if (bad) {
      for (auto& col : out) col.truncate(rows);
      check_start_parity();
      const std::string where = file.path + ":" + std::to_string(line_of(bad->row_start)) + ": " + bad->reason;
      if (!skip_bad)
        throw Error(where + "\nPossible fixes:\n" + bad->fixes +
                    "  * on_bad_lines=\"skip\" or \"warn\" to leave such lines out");
      ++stats.bad.count;
      if (stats.bad.where.size() < 10) stats.bad.where.push_back(where);
      // Resume at the next line.
      const char* data_now = buf.get();
      const void* nl = std::memchr(data_now + bad->row_start, '\n', size - bad->row_start);
      while (!nl && !eof) {
        grow();
        nl = std::memchr(buf.get() + bad->row_start, '\n', size - bad->row_start);
      }
      p = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - buf.get()) + 1 : size;
      continue;
    }
    // The line end.
    if (p < size && buf[p] == '\r') ++p;
    if (p < size && buf[p] == '\n') ++p;
    ++rows;
  }
  stats.rows = rows;
  stats.end = blk.begin + static_cast<std::int64_t>(p);
  return out;
}

void throw_split_error(const std::string& path, std::int64_t offset) {
  const std::int64_t line = count_in_file(path, 0, offset, '\n') + 1;
  throw Error(path + ":" + std::to_string(line) +
              ": a quoted field holding a line break crosses the block boundary "
              "at byte " +
              std::to_string(offset) +
              ", so the file cannot be split there\n"
              "Possible fixes:\n  * blocksize=0 to read each file as one block\n  * a larger blocksize");
}

void check_block_bounds(const CsvSource& source, const std::vector<CsvBlock>& blocks,
                        const std::vector<std::int64_t>& bounds) {
  // Block 0 of a file starts right after the header, so it parses right and ends at a true
  // line start; a next block starting there is right too, and so on. The first block that
  // starts elsewhere began inside a quoted line break.
  for (std::size_t block_idx = 1; block_idx < blocks.size(); ++block_idx) {
    const CsvBlock& b = blocks[block_idx];
    if (b.block_in_file == 0) continue;
    const std::int64_t previous_end = bounds[2 * (block_idx - 1) + 1], start = bounds[2 * block_idx];
    if (previous_end != start) throw_split_error(source.files[b.file].path, b.begin);
  }
}

}  // namespace rask::detail
