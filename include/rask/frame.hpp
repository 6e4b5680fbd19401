#pragma once
/// Frame: CSV shards as dataframes, the dask.dataframe of rask.
///
///     rask::DataFrame df = rask::read_csv("minute/aig/2010-01-*.csv", {.parse_dates = {"timestamp"}});
///     rask::Series hourly = df.groupby(df["timestamp"].dt().hour())["close"].mean();
///     hourly.to_hdf("out.h5", "/hourly");   // collective
///
/// A DataFrame or Series is a small immutable expression (read_csv's arguments and the
/// operations on it), not data. Building one is local and cheap: no file is opened. At
/// compute every rank lowers the same expression into the same block tasks of the
/// core's graph: each file is split into `blocksize` byte ranges at line ends, the
/// blocks are balanced over ranks by bytes and pinned there, each block is parsed
/// (only the columns the result needs), filtered and reduced into partial groupby
/// tables, and the partials are merged by a fixed tree over block indices, so results
/// are bitwise the same at any rank and thread count. Columns are found by header
/// name, never by position. Results reach rank 0 with a sorted index.
#include <array>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "rask/error.hpp"
#include "rask/plan.hpp"
#include "rask/dtype.hpp"
#include "rask/serialize.hpp"

namespace rask {

// Column types are rask::DType (dtype.hpp); missing floats are NaN, missing timestamps
// (NaT) INT64_MIN.

/// read_csv's options, pandas' names and meanings.
struct ReadCsvOptions {
  /// Columns parsed as timestamps: `YYYY-MM-DD HH:MM:SS[.fffffffff]`, the `T` form, or a
  /// date alone.
  std::vector<std::string> parse_dates{};
  /// Bytes per block: big files are split into ranges of about this size at line ends
  /// (the header is read once per file). 0: one block per file.
  std::int64_t blocksize = std::int64_t{16} << 20;
  /// "error" (stop at the first bad line), "warn" (skip it; rank 0 prints how many and
  /// where) or "skip" (skip it; the count and places are in the result's BadLines).
  std::string on_bad_lines = "error";
  /// Only these columns form the frame (others are skipped over, never converted).
  std::vector<std::string> usecols{};
  /// Column -> "float64", "int64", "bool", "string" or "datetime64[ns]": overrides the
  /// type inferred from the first file's first rows.
  std::map<std::string, std::string> dtype{};
  /// Column names; with header = -1 they name the fields of every line, with header = 0
  /// they replace the names in each file's first line.
  std::vector<std::string> names{};
  /// 0: each file's first line is its header; -1: no header line (`names` required).
  int header = 0;
  /// Field separator.
  char sep = ',';

  /// Every field once, in serialization order: the expression's bytes, its token and
  /// equality all go through this list (src/frame/expr.cpp checks at compile time that
  /// it names every field), and field_names are pandas' keywords for them, in order.
  auto fields() { return std::tie(parse_dates, blocksize, on_bad_lines, usecols, dtype, names, header, sep); }
  auto fields() const { return std::tie(parse_dates, blocksize, on_bad_lines, usecols, dtype, names, header, sep); }
  static constexpr std::array<std::string_view, 8> field_names{"parse_dates", "blocksize", "on_bad_lines", "usecols",
                                                                "dtype",       "names",     "header",       "sep"};
  bool operator==(const ReadCsvOptions& other) const { return fields() == other.fields(); }
};

/// A typed column of an in-memory table.
struct Column {
  std::string name;
  DType dtype = DType::float64;
  std::vector<double> f64;        ///< float64 values
  std::vector<std::int64_t> i64;  ///< int64, timestamp (ns) and bool (0/1) values
  std::vector<std::string> str;   ///< string values (UTF-8)
  std::size_t size() const noexcept;
};

/// Lines read_csv skipped (on_bad_lines = "skip" or "warn").
struct BadLines {
  std::size_t count = 0;
  std::vector<std::string> where;  ///< `path:line: reason` of the first few
};

/// What compute() gives rank 0: an index and typed columns. A groupby result's index is
/// its sorted group keys; a frame's or row series' index is the row number 0..n-1 over
/// all files in order.
struct Table {
  Column index;
  std::vector<Column> columns;
  /// A groupby on several columns: one column per key, in the groupby's order (pandas'
  /// MultiIndex, row by row); `index` then holds the row number.
  std::vector<Column> levels;
  BadLines bad_lines;
  std::size_t rows() const noexcept { return index.size(); }
  /// The column named `name`; throws InputError listing the names present.
  const Column& operator[](std::string_view name) const;
};

namespace detail {
struct FrameNode;
using FramePtr = std::shared_ptr<const FrameNode>;
struct FrameAccess;  // builds DataFrame and Series from expressions (src/frame/expr.hpp)
enum class Agg : std::uint8_t;
}  // namespace detail

class Series;
class GroupBy;

/// A lazy dataframe. Copies share the expression. Building and combining frames is
/// local and opens no file; len, head, compute, to_hdf and to_csv are collective.
class DataFrame {
 public:
  /// Local: one column as a Series. Throws InputError at compute (every rank) when the
  /// files have no such column.
  Series operator[](const std::string& column) const;
  /// Local: a frame of these columns only.
  DataFrame operator[](const std::vector<std::string>& columns) const;
  DataFrame operator[](std::initializer_list<std::string> columns) const;
  /// Local: the rows where `mask` (a bool series of this frame, e.g. `df["close"] > 50.0`)
  /// is true.
  DataFrame operator[](const Series& mask) const;

  /// Local: groups rows by a series of this frame (a column or a derived series, such as
  /// `df["timestamp"].dt().hour()`) or by a column name. Missing keys are dropped.
  GroupBy groupby(const Series& key) const;
  GroupBy groupby(const std::string& column) const;
  /// Local: groups by several columns: the result's Table::levels hold one column per key
  /// (pandas' MultiIndex), sorted as tuples. A row missing any key is dropped.
  GroupBy groupby(const std::vector<std::string>& columns) const;
  GroupBy groupby(std::initializer_list<std::string> columns) const;

  /// Collective: the number of rows (pandas' len(df)), on every rank.
  std::size_t len() const;
  /// Collective: the first n rows, on rank 0 (every rank with Where::all). Reads only
  /// as many blocks as it takes (the first, then 4, 16, ...), as Dask's head reads the
  /// first partition.
  std::optional<Table> head(std::size_t n = 5, Where where = Where::root) const;

  /// Collective: the rows on rank 0 (every rank with Where::all), other ranks nullopt.
  std::optional<Table> compute(Where where = Where::root) const;
  /// Collective: writes the frame to group `key` of HDF5 file `path`: an `index`
  /// dataset and one dataset per column (timestamps int64 ns with a `units` attribute,
  /// strings UTF-8). Other groups of an existing file are kept. Written under a
  /// temporary name and renamed when complete: a failed job leaves the old file.
  /// Throws rask::IoError (rask/io.hpp) on every rank when rank 0 could not write it.
  void to_hdf(const std::string& path, const std::string& key) const;
  /// Collective: writes the frame as one CSV file (header, then rows; no index column),
  /// under a temporary name as to_hdf; throws rask::IoError when rank 0 could not.
  void to_csv(const std::string& path) const;

  /// Local: the expression as bytes (a few hundred; no data), to rebuild it on another
  /// rank.
  Bytes serialize() const;
  /// Local: rebuilds a frame from serialize()'s bytes; throws SerializeError on bad bytes.
  static DataFrame deserialize(const Bytes& bytes);

 private:
  friend struct detail::FrameAccess;
  explicit DataFrame(detail::FramePtr node) : node_(std::move(node)) {}
  detail::FramePtr node_;
};

/// `.dt()` of a timestamp series: pandas' Series.dt accessors. Local: each is lazy.
class DatetimeAccessor {
 public:
  Series year() const;
  Series month() const;
  Series day() const;
  Series hour() const;
  Series minute() const;
  Series second() const;
  /// Monday = 0 ... Sunday = 6.
  Series dayofweek() const;
  /// Midnight of the day, as a timestamp (pandas' `dt.date` gives date objects; the
  /// groups and their order are the same).
  Series date() const;
  Series normalize() const;
  /// Rounds down to a unit: "D", "h" (or "H"), "min" (or "T"), "s" (or "S").
  Series floor(const std::string& freq) const;

 private:
  friend class Series;
  explicit DatetimeAccessor(detail::FramePtr node) : node_(std::move(node)) {}
  detail::FramePtr node_;
};

/// A lazy series: a column of a frame (or something derived from columns), or a
/// groupby result indexed by its group keys. Arithmetic and comparisons combine two
/// series of the same frame row by row, or two groupby results aligned on their index
/// (keys missing on one side give NaN, as in pandas).
class Series {
 public:
  /// Local: the timestamp accessors (`s.dt().hour()`).
  DatetimeAccessor dt() const;
  /// Local: pandas' name: the column's, kept through dt and through arithmetic with scalars.
  const std::string& name() const;

  /// Collective: reductions of a column of a frame, as pandas' (missing values skipped;
  /// std and var with ddof = 1). The value on every rank; NaN when there is no value.
  /// Timestamps give nanoseconds; int sums are exact below 2^53.
  double sum() const;
  double mean() const;
  double min() const;
  double max() const;
  double std() const;
  double var() const;
  /// Collective: values present; distinct values (missing ones not counted).
  std::size_t count() const;
  std::size_t nunique() const;
  /// Local (lazy): how often each value occurs, most frequent first, ties in order of first
  /// appearance (pandas 1.5's order; as an operand of arithmetic it aligns by value).
  Series value_counts() const;

  /// Collective: the values on rank 0 (every rank with Where::all): index and one column.
  std::optional<Table> compute(Where where = Where::root) const;
  /// Collective: the first n values (of a groupby result: the n smallest keys); see
  /// DataFrame::head.
  std::optional<Table> head(std::size_t n = 5, Where where = Where::root) const;
  /// Collective: writes group `key` of HDF5 file `path`: datasets `index` and `values`;
  /// see DataFrame::to_hdf.
  void to_hdf(const std::string& path, const std::string& key) const;
  /// Collective: writes `index,name` lines (pandas' Series.to_csv).
  void to_csv(const std::string& path) const;

  /// Local: see DataFrame::serialize.
  Bytes serialize() const;
  /// Local: see DataFrame::deserialize.
  static Series deserialize(const Bytes& bytes);

 private:
  friend struct detail::FrameAccess;
  explicit Series(detail::FramePtr node) : node_(std::move(node)) {}
  detail::FramePtr node_;
};

/// Local: row-by-row (same frame) or aligned (groupby results) arithmetic; with a
/// scalar, elementwise. Lazy. Combining series of different frames throws InputError.
Series operator+(const Series& a, const Series& b);
Series operator-(const Series& a, const Series& b);
Series operator*(const Series& a, const Series& b);
Series operator/(const Series& a, const Series& b);
Series operator+(const Series& a, double b);
Series operator-(const Series& a, double b);
Series operator*(const Series& a, double b);
Series operator/(const Series& a, double b);
Series operator+(double a, const Series& b);
Series operator-(double a, const Series& b);
Series operator*(double a, const Series& b);
Series operator/(double a, const Series& b);
Series operator-(const Series& a);
/// Local: comparisons give bool series, usable as filters: `df[df["close"] > 50.0]`.
Series operator>(const Series& a, const Series& b);
Series operator>=(const Series& a, const Series& b);
Series operator<(const Series& a, const Series& b);
Series operator<=(const Series& a, const Series& b);
Series operator==(const Series& a, const Series& b);
Series operator!=(const Series& a, const Series& b);
Series operator>(const Series& a, double b);
Series operator>=(const Series& a, double b);
Series operator<(const Series& a, double b);
Series operator<=(const Series& a, double b);
Series operator==(const Series& a, double b);
Series operator!=(const Series& a, double b);
/// Local: logical and, or, not of bool series.
Series operator&(const Series& a, const Series& b);
Series operator|(const Series& a, const Series& b);
Series operator~(const Series& a);

/// One column of a groupby: pandas' reductions per group (missing values skipped;
/// std and var with ddof = 1). Local: each is lazy and gives a Series indexed by key.
class SeriesGroupBy {
 public:
  Series sum() const;
  Series mean() const;
  Series min() const;
  Series max() const;
  Series count() const;
  Series std() const;
  Series var() const;
  Series first() const;
  Series last() const;

 private:
  friend class GroupBy;
  SeriesGroupBy(detail::FramePtr frame, std::vector<detail::FramePtr> keys, std::string column)
      : frame_(std::move(frame)), keys_(std::move(keys)), column_(std::move(column)) {}
  Series make(detail::Agg agg) const;
  detail::FramePtr frame_;
  std::vector<detail::FramePtr> keys_;
  std::string column_;
};

/// `df.groupby(key)`: pick a column with operator[], or count rows with size().
class GroupBy {
 public:
  /// Local: one column's reductions per group.
  SeriesGroupBy operator[](const std::string& column) const;
  /// Local (lazy): rows per group (missing values included), int64.
  Series size() const;

 private:
  friend class DataFrame;
  GroupBy(detail::FramePtr frame, std::vector<detail::FramePtr> keys)
      : frame_(std::move(frame)), keys_(std::move(keys)) {}
  detail::FramePtr frame_;
  std::vector<detail::FramePtr> keys_;
};

/// A frame over CSV files: a glob pattern (`minute/aig/2010-01-*.csv`), one path, or a
/// list of paths and patterns. Local (lazy): the files are listed and their headers
/// read at compute, on every rank, where a pattern matching nothing, an empty file or
/// headers that differ are InputErrors thrown on every rank.
DataFrame read_csv(const std::string& path_or_glob, ReadCsvOptions options = {});
DataFrame read_csv(const std::vector<std::string>& paths, ReadCsvOptions options = {});

}  // namespace rask
