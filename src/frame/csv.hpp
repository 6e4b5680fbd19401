#pragma once
// The CSV reader's parts: resolving a read_csv node into files, schema and byte-range
// blocks (csv_source.cpp, run on every rank alike) and parsing one block's wanted
// columns (csv_scan.cpp, run inside a block task).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "frame/expr.hpp"

namespace rask::detail {

struct CsvFile {
  std::string path;
  std::int64_t size = 0;
  std::int64_t data_begin = 0;  // first byte after the header line
  int nfields = 0;              // fields per line
  std::vector<int> field_of;    // schema column -> field index in this file's lines
};

struct CsvSource {
  std::vector<CsvFile> files;
  std::vector<std::string> names;  // the frame's columns, in the first file's order
  std::vector<DType> dtypes;
  ReadCsvOptions options;
  std::string description;                    // read_csv('...') for messages
  int column(const std::string& name) const;  // -1 when absent
  std::string column_list() const;
};

// One block: rows of `file` starting after the first line end at or after `begin` (or
// at `begin` for a file's first block) and at or before `end` (to the end of the file
// for its last block). Every row belongs to exactly one block.
struct CsvBlock {
  std::uint32_t file = 0;
  std::uint32_t block_in_file = 0;
  bool last_in_file = true;
  std::int64_t begin = 0, end = 0;
};

/// Lists the files, reads their headers, infers the schema from the first file's first
/// rows. Deterministic, so every rank gets the same answer; InputError on bad input.
CsvSource resolve_source(const FrameNode& read_csv);

/// The blocks of every file, in file order.
std::vector<CsvBlock> split_blocks(const CsvSource& source);

/// A parsed column of one block. Strings are dictionary-encoded.
struct BlockColumn {
  DType dtype = DType::float64;
  std::vector<double> f;
  std::vector<std::int64_t> i;
  std::vector<std::int32_t> codes;
  std::vector<std::string> dict;
  std::size_t size() const noexcept {
    return dtype == DType::float64 ? f.size() : dtype == DType::string ? codes.size() : i.size();
  }
  void truncate(std::size_t rows);
};

struct ScanStats {
  std::int64_t start = 0, end = 0;  // file offsets of the block's first line and of the line after its last
  std::size_t rows = 0;
  BadLines bad;
};

/// Parses the schema columns `wanted` of one block; skips every other field's bytes.
/// Throws InputError-like rask::Error with `path:line: ...` and "Possible fixes:" on a
/// bad line (on_bad_lines = "error"), else records it in `stats.bad`.
std::vector<BlockColumn> scan_block(const CsvSource& source, const CsvBlock& block, const std::vector<int>& wanted,
                                    ScanStats& stats);

/// Throws when a quoted field holding a line break spans a block boundary: each block
/// must start where the one before it ended. `bounds` holds ScanStats::start and end of
/// `blocks`, in the same order.
void check_block_bounds(const CsvSource& source, const std::vector<CsvBlock>& blocks,
                        const std::vector<std::int64_t>& bounds);

/// The error for a file that cannot be split at `offset`: path, line and the fixes.
[[noreturn]] void throw_split_error(const std::string& path, std::int64_t offset);

/// Timestamp text to ns since the epoch; false when it is not a timestamp.
bool parse_timestamp(std::string_view text, std::int64_t& ns);

/// Days since 1970-01-01 of a civil date and back.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d);
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d);

/// DType from a dtype= string ("float64", "int64", "bool", "string", "datetime64[ns]").
DType parse_dtype(const std::string& text, const std::string& column);

}  // namespace rask::detail
