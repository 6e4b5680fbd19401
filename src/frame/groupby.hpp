#pragma once
// Groupby partial tables: one block's rows reduced per key, merged with other blocks'
// in a fixed tree over block indices, then finished into a result column. Sums are
// compensated (Neumaier), std/var carry (count, mean, M2) merged by Chan's formula, so
// results match pandas to ~1e-12 and depend only on the block order.
#include <cstdint>
#include <string>
#include <vector>

#include "frame/csv.hpp"

namespace rask::detail {


/// What one aggregation needs to know about its value column.
struct AggSpec {
  Agg agg = Agg::size;
  DType value_dtype = DType::float64;  // ignored for size
  DType key_dtype = DType::int64;
  bool first_seen = false;    // size: also keep where each key first appears (value_counts)
  std::vector<DType> levels;  // several keys: their types (key_dtype is then string, see encode_keys)
  bool int_values() const noexcept { return value_dtype != DType::float64; }
};

/// The type of the aggregation's result column (pandas': mean, std and var give float64,
/// size and count int64, sums of ints int64, the rest the value column's type).
DType agg_result_dtype(const AggSpec& spec);

/// Keys in sorted order and each key's state (see groupby.cpp for which fields an
/// aggregation uses).
struct Partial {
  std::vector<std::int64_t> ikeys;  // int64, bool, timestamp keys
  std::vector<double> fkeys;        // float64 keys
  std::vector<std::string> skeys;   // string keys
  std::vector<std::int64_t> n;
  std::vector<double> a, b;
  std::vector<std::int64_t> ia;
  std::size_t groups() const noexcept { return n.size(); }
};

/// Reduces one block: rows where the key is missing are dropped (pandas' dropna).
/// `values` is ignored for size. With spec.first_seen, `ia` holds each key's first
/// appearance as (block_index << 40) + row, which merging keeps from the earlier block.
Partial aggregate_block(const AggSpec& spec, const BlockColumn& keys, const BlockColumn* values,
                        std::size_t block_index = 0);

/// Merges two partials of the same aggregation; `left` holds the earlier blocks.
Partial merge_partials(const AggSpec& spec, const Partial& left, const Partial& right);

/// Several key columns as one: each row's keys encoded into bytes whose order is the
/// tuples' order (big-endian integers with the sign flipped, floats' order-preserving
/// bits, strings with 0x00 escaped and a 0x00 0x00 end), dictionary-encoded. A row
/// missing any key gets code -1 (dropped).
BlockColumn encode_keys(const std::vector<const BlockColumn*>& keys);
/// The key columns back from encoded keys.
std::vector<Column> decode_keys(const std::vector<std::string>& encoded, const std::vector<DType>& levels);

/// The result: index (sorted keys) and values.
void finish_partial(const AggSpec& spec, const Partial& partial, Column& index, Column& values);

}  // namespace rask::detail

namespace rask {
template <>
struct Serializer<detail::Partial> {
  static void write(Writer& w, const detail::Partial& p) {
    w.write(p.ikeys);
    w.write(p.fkeys);
    w.write(p.skeys);
    w.write(p.n);
    w.write(p.a);
    w.write(p.b);
    w.write(p.ia);
  }
  static detail::Partial read(Reader& r) {
    detail::Partial p;
    p.ikeys = r.read<std::vector<std::int64_t>>();
    p.fkeys = r.read<std::vector<double>>();
    p.skeys = r.read<std::vector<std::string>>();
    p.n = r.read<std::vector<std::int64_t>>();
    p.a = r.read<std::vector<double>>();
    p.b = r.read<std::vector<double>>();
    p.ia = r.read<std::vector<std::int64_t>>();
    return p;
  }
};

template <>
struct Serializer<Column> {
  static void write(Writer& w, const Column& c) {
    w.write(c.name);
    w.write(c.dtype);
    w.write(c.f64);
    w.write(c.i64);
    w.write(c.str);
  }
  static Column read(Reader& r) {
    Column c;
    c.name = r.read<std::string>();
    c.dtype = r.read<DType>();
    c.f64 = r.read<std::vector<double>>();
    c.i64 = r.read<std::vector<std::int64_t>>();
    c.str = r.read<std::vector<std::string>>();
    return c;
  }
};

template <>
struct Serializer<BadLines> {
  static void write(Writer& w, const BadLines& b) {
    w.write(static_cast<std::uint64_t>(b.count));
    w.write(b.where);
  }
  static BadLines read(Reader& r) {
    BadLines b;
    b.count = r.read<std::uint64_t>();
    b.where = r.read<std::vector<std::string>>();
    return b;
  }
};

template <>
struct Serializer<Table> {
  static void write(Writer& w, const Table& t) {
    w.write(t.index);
    w.write(t.columns);
    w.write(t.levels);
    w.write(t.bad_lines);
  }
  static Table read(Reader& r) {
    Table t;
    t.index = r.read<Column>();
    t.columns = r.read<std::vector<Column>>();
    t.levels = r.read<std::vector<Column>>();
    t.bad_lines = r.read<BadLines>();
    return t;
  }
};
}  // namespace rask
