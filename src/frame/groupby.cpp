// Partial groupby tables. Fields per aggregation:
//   size, count: n (rows, or values present)
//   sum:  float values: a + b (Neumaier sum and its compensation); int values: ia. n.
//   mean: a + b, n (int values summed as doubles)
//   std, var: n, a = mean, b = M2
//   min, max, first, last: float values: a; int values: ia; n = values present
#include "frame/groupby.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <unordered_map>

namespace rask::detail {

DType agg_result_dtype(const AggSpec& spec) {
  switch (spec.agg) {
    case Agg::size:
    case Agg::count:
      return DType::int64;
    case Agg::sum:
      return spec.int_values() ? DType::int64 : DType::float64;
    case Agg::mean:
    case Agg::std:
    case Agg::var:
      return DType::float64;
    default:
      return spec.value_dtype;
  }
}

namespace {

constexpr std::int64_t kMissingInt = std::numeric_limits<std::int64_t>::min();

inline void neumaier(double& sum, double& comp, double v) {
  const double t = sum + v;
  comp += std::fabs(sum) >= std::fabs(v) ? (sum - t) + v : (v - t) + sum;
  sum = t;
}

// int64 key -> slot, by open addressing; the last key is remembered since neighbouring
// rows usually share one (minutes of an hour, rows of a day).
class IntSlots {
 public:
  std::size_t slot(std::int64_t key, std::vector<std::int64_t>& keys) {
    if (!keys.empty() && key == last_key_) return last_slot_;
    if (keys.size() * 2 >= table_.size()) rehash(keys);
    std::size_t h = hash(key) & (table_.size() - 1);
    for (;;) {
      const std::uint32_t s = table_[h];
      if (s == 0) {
        keys.push_back(key);
        table_[h] = static_cast<std::uint32_t>(keys.size());
        break;
      }
      if (keys[s - 1] == key) break;
      h = (h + 1) & (table_.size() - 1);
    }
    last_key_ = key;
    last_slot_ = table_[h] - 1;
    return last_slot_;
  }

 private:
  static std::size_t hash(std::int64_t k) {
    auto x = static_cast<std::uint64_t>(k) * 0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>(x ^ (x >> 29));
  }
  void rehash(const std::vector<std::int64_t>& keys) {
    table_.assign(std::max<std::size_t>(64, table_.size() * 2), 0);
    for (std::size_t s = 0; s < keys.size(); ++s) {
      std::size_t h = hash(keys[s]) & (table_.size() - 1);
      while (table_[h]) h = (h + 1) & (table_.size() - 1);
      table_[h] = static_cast<std::uint32_t>(s + 1);
    }
  }
  std::vector<std::uint32_t> table_;
  std::int64_t last_key_ = 0;
  std::size_t last_slot_ = 0;
};

void resize_state(Partial& p, std::size_t groups) {
  p.n.resize(groups, 0);
  p.a.resize(groups, 0.0);
  p.b.resize(groups, 0.0);
  p.ia.resize(groups, 0);
}

// Adds row `row` of `values` to group `g`.
inline void accumulate(const AggSpec& spec, Partial& p, std::size_t g, const BlockColumn* values, std::size_t row,
                       std::int64_t first_seen_base) {
  if (spec.agg == Agg::size) {
    if (++p.n[g] == 1 && spec.first_seen) p.ia[g] = first_seen_base + static_cast<std::int64_t>(row);
    return;
  }
  if (!spec.int_values()) {
    const double v = values->f[row];
    if (std::isnan(v)) return;
    const std::int64_t n = ++p.n[g];
    switch (spec.agg) {
      case Agg::sum:
      case Agg::mean:
        neumaier(p.a[g], p.b[g], v);
        break;
      case Agg::std:
      case Agg::var: {
        const double d = v - p.a[g];
        p.a[g] += d / static_cast<double>(n);
        p.b[g] += d * (v - p.a[g]);
        break;
      }
      case Agg::min:
        p.a[g] = n == 1 ? v : std::min(p.a[g], v);
        break;
      case Agg::max:
        p.a[g] = n == 1 ? v : std::max(p.a[g], v);
        break;
      case Agg::first:
        if (n == 1) p.a[g] = v;
        break;
      case Agg::last:
        p.a[g] = v;
        break;
      default:
        break;
    }
    return;
  }
  const std::int64_t v = values->i[row];
  if (v == kMissingInt) return;
  const std::int64_t n = ++p.n[g];
  switch (spec.agg) {
    case Agg::sum:
      p.ia[g] += v;
      break;
    case Agg::mean:
      neumaier(p.a[g], p.b[g], static_cast<double>(v));
      break;
    case Agg::std:
    case Agg::var: {
      const double d = static_cast<double>(v) - p.a[g];
      p.a[g] += d / static_cast<double>(n);
      p.b[g] += d * (static_cast<double>(v) - p.a[g]);
      break;
    }
    case Agg::min:
      p.ia[g] = n == 1 ? v : std::min(p.ia[g], v);
      break;
    case Agg::max:
      p.ia[g] = n == 1 ? v : std::max(p.ia[g], v);
      break;
    case Agg::first:
      if (n == 1) p.ia[g] = v;
      break;
    case Agg::last:
      p.ia[g] = v;
      break;
    default:
      break;
  }
}

// Reorders groups by `order` (slot indices).
void permute(Partial& p, const std::vector<std::size_t>& order) {
  auto apply = [&](auto& v) {
    if (v.empty()) return;
    std::remove_reference_t<decltype(v)> out;
    out.reserve(order.size());
    for (std::size_t s : order) out.push_back(std::move(v[s]));
    v = std::move(out);
  };
  apply(p.ikeys);
  apply(p.fkeys);
  apply(p.skeys);
  apply(p.n);
  apply(p.a);
  apply(p.b);
  apply(p.ia);
}

// Combines group state `r` (later blocks) into `l` (earlier ones).
void combine(const AggSpec& spec, Partial& out, std::size_t g, const Partial& r, std::size_t rg) {
  const std::int64_t nl = out.n[g], nr = r.n[rg];
  if (nr == 0) return;
  if (spec.agg == Agg::size || spec.agg == Agg::count) {
    out.n[g] = nl + nr;
    return;
  }
  out.n[g] = nl + nr;
  if (nl == 0) {
    out.a[g] = r.a[rg];
    out.b[g] = r.b[rg];
    out.ia[g] = r.ia[rg];
    return;
  }
  const bool ints = spec.int_values();
  switch (spec.agg) {
    case Agg::sum:
    case Agg::mean:
      if (ints && spec.agg == Agg::sum) {
        out.ia[g] += r.ia[rg];
      } else {
        const double comp = out.b[g] + r.b[rg];
        out.b[g] = comp;
        neumaier(out.a[g], out.b[g], r.a[rg]);
      }
      break;
    case Agg::std:
    case Agg::var: {
      const double n = static_cast<double>(nl + nr);
      const double d = r.a[rg] - out.a[g];
      out.a[g] += d * static_cast<double>(nr) / n;
      out.b[g] += r.b[rg] + d * d * static_cast<double>(nl) * static_cast<double>(nr) / n;
      break;
    }
    case Agg::min:
      if (ints)
        out.ia[g] = std::min(out.ia[g], r.ia[rg]);
      else
        out.a[g] = std::min(out.a[g], r.a[rg]);
      break;
    case Agg::max:
      if (ints)
        out.ia[g] = std::max(out.ia[g], r.ia[rg]);
      else
        out.a[g] = std::max(out.a[g], r.a[rg]);
      break;
    case Agg::first:
      break;
    case Agg::last:
      out.a[g] = r.a[rg];
      out.ia[g] = r.ia[rg];
      break;
    default:
      break;
  }
}

}  // namespace

Partial aggregate_block(const AggSpec& spec, const BlockColumn& keys, const BlockColumn* values,
                        std::size_t block_index) {
  Partial p;
  const auto first_seen_base = static_cast<std::int64_t>(block_index) << 40;
  const std::size_t rows = keys.size();
  std::vector<std::size_t> order;
  switch (keys.dtype) {
    case DType::int64:
    case DType::boolean:
    case DType::timestamp: {
      IntSlots slots;
      for (std::size_t row = 0; row < rows; ++row) {
        const std::int64_t k = keys.i[row];
        if (k == kMissingInt) continue;
        const std::size_t g = slots.slot(k, p.ikeys);
        if (g >= p.n.size()) resize_state(p, g + 1);
        accumulate(spec, p, g, values, row, first_seen_base);
      }
      order.resize(p.ikeys.size());
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return p.ikeys[x] < p.ikeys[y]; });
      break;
    }
    case DType::float64: {
      // Keys by bit pattern (one NaN dropped, -0 folded into 0), ordered by value.
      IntSlots slots;
      std::vector<std::int64_t> bits;
      for (std::size_t row = 0; row < rows; ++row) {
        double k = keys.f[row];
        if (std::isnan(k)) continue;
        if (k == 0) k = 0;
        std::int64_t b;
        std::memcpy(&b, &k, sizeof b);
        const std::size_t g = slots.slot(b, bits);
        if (g >= p.n.size()) resize_state(p, g + 1);
        accumulate(spec, p, g, values, row, first_seen_base);
      }
      for (std::int64_t b : bits) {
        double k;
        std::memcpy(&k, &b, sizeof k);
        p.fkeys.push_back(k);
      }
      order.resize(p.fkeys.size());
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return p.fkeys[x] < p.fkeys[y]; });
      break;
    }
    case DType::string: {
      // Dictionary codes are dense: they index groups directly.
      resize_state(p, keys.dict.size());
      std::vector<bool> used(keys.dict.size(), false);
      for (std::size_t row = 0; row < rows; ++row) {
        if (keys.codes[row] < 0) continue;  // a missing key
        const auto g = static_cast<std::size_t>(keys.codes[row]);
        used[g] = true;
        accumulate(spec, p, g, values, row, first_seen_base);
      }
      p.skeys = keys.dict;
      for (std::size_t code = 0; code < p.skeys.size(); ++code)
        if (used[code]) order.push_back(code);
      std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return p.skeys[x] < p.skeys[y]; });
      break;
    }
  }
  permute(p, order);
  return p;
}

Partial merge_partials(const AggSpec& spec, const Partial& left, const Partial& right) {
  Partial out;
  const bool ints = !left.ikeys.empty() || !right.ikeys.empty();
  const bool floats = !left.fkeys.empty() || !right.fkeys.empty();
  auto cmp = [&](std::size_t x, std::size_t y) -> int {  // left[x] vs right[y]
    if (ints) return left.ikeys[x] < right.ikeys[y] ? -1 : left.ikeys[x] > right.ikeys[y];
    if (floats) return left.fkeys[x] < right.fkeys[y] ? -1 : left.fkeys[x] > right.fkeys[y];
    return left.skeys[x] < right.skeys[y] ? -1 : left.skeys[x] > right.skeys[y];
  };
  auto take = [&](const Partial& from, std::size_t g) {
    if (ints)
      out.ikeys.push_back(from.ikeys[g]);
    else if (floats)
      out.fkeys.push_back(from.fkeys[g]);
    else
      out.skeys.push_back(from.skeys[g]);
    out.n.push_back(from.n[g]);
    out.a.push_back(from.a[g]);
    out.b.push_back(from.b[g]);
    out.ia.push_back(from.ia[g]);
  };
  std::size_t x = 0, y = 0;
  const std::size_t nx = left.groups(), ny = right.groups();
  while (x < nx || y < ny) {
    const int c = x == nx ? 1 : y == ny ? -1 : cmp(x, y);
    if (c < 0)
      take(left, x++);
    else if (c > 0)
      take(right, y++);
    else {
      take(left, x++);
      combine(spec, out, out.groups() - 1, right, y++);
    }
  }
  (void)spec.key_dtype;
  return out;
}

void finish_partial(const AggSpec& spec, const Partial& p, Column& index, Column& values) {
  index.dtype = spec.key_dtype;
  index.i64 = p.ikeys;
  index.f64 = p.fkeys;
  index.str = p.skeys;
  const std::size_t groups = p.groups();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  values.dtype = agg_result_dtype(spec);
  switch (spec.agg) {
    case Agg::size:
    case Agg::count:
      values.i64 = p.n;
      return;
    case Agg::sum:
      if (spec.int_values()) {
        values.i64 = p.ia;
        return;
      }
      for (std::size_t g = 0; g < groups; ++g) values.f64.push_back(p.a[g] + p.b[g]);
      return;
    case Agg::mean:
      for (std::size_t g = 0; g < groups; ++g)
        values.f64.push_back(p.n[g] ? (p.a[g] + p.b[g]) / static_cast<double>(p.n[g]) : nan);
      return;
    case Agg::std:
    case Agg::var:
      for (std::size_t g = 0; g < groups; ++g) {
        const double var = p.n[g] > 1 ? p.b[g] / static_cast<double>(p.n[g] - 1) : nan;
        values.f64.push_back(spec.agg == Agg::std ? std::sqrt(var) : var);
      }
      return;
    default:
      if (spec.int_values()) {
        for (std::size_t g = 0; g < groups; ++g) values.i64.push_back(p.n[g] ? p.ia[g] : kMissingInt);
      } else {
        for (std::size_t g = 0; g < groups; ++g) values.f64.push_back(p.n[g] ? p.a[g] : nan);
      }
      return;
  }
}

namespace {
void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}
std::uint64_t get_u64(const std::string& in, std::size_t& pos) {
  std::uint64_t v = 0;
  for (int byte = 0; byte < 8; ++byte) v = (v << 8) | static_cast<unsigned char>(in[pos++]);
  return v;
}
constexpr std::uint64_t kSign = 0x8000000000000000ull;
}  // namespace

BlockColumn encode_keys(const std::vector<const BlockColumn*>& keys) {
  BlockColumn out;
  out.dtype = DType::string;
  const std::size_t rows = keys.at(0)->size();
  std::unordered_map<std::string, std::int32_t> codes;
  std::string key;
  for (std::size_t row = 0; row < rows; ++row) {
    key.clear();
    bool missing = false;
    for (const BlockColumn* k : keys) {
      if (k->dtype == DType::float64) {
        double v = k->f[row];
        if (std::isnan(v)) missing = true;
        if (v == 0) v = 0;  // -0 groups with 0
        std::uint64_t bits;
        std::memcpy(&bits, &v, sizeof bits);
        put_u64(key, bits & kSign ? ~bits : bits ^ kSign);
      } else if (k->dtype == DType::string) {
        const std::int32_t code = k->codes[row];
        if (code < 0) {
          missing = true;
          continue;
        }
        for (char c : k->dict[static_cast<std::size_t>(code)]) {
          key += c;
          if (c == '\0') key += '\xff';
        }
        key += '\0';
        key += '\0';
      } else {
        if (k->i[row] == kMissingInt) missing = true;
        put_u64(key, static_cast<std::uint64_t>(k->i[row]) ^ kSign);
      }
    }
    if (missing) {
      out.codes.push_back(-1);
      continue;
    }
    auto [it, fresh] = codes.try_emplace(key, static_cast<std::int32_t>(out.dict.size()));
    if (fresh) out.dict.push_back(key);
    out.codes.push_back(it->second);
  }
  return out;
}

std::vector<Column> decode_keys(const std::vector<std::string>& encoded, const std::vector<DType>& levels) {
  std::vector<Column> out(levels.size());
  for (std::size_t level = 0; level < levels.size(); ++level) out[level].dtype = levels[level];
  for (const std::string& key : encoded) {
    std::size_t pos = 0;
    for (std::size_t level = 0; level < levels.size(); ++level) {
      Column& c = out[level];
      if (c.dtype == DType::float64) {
        std::uint64_t bits = get_u64(key, pos);
        bits = bits & kSign ? bits ^ kSign : ~bits;
        double v;
        std::memcpy(&v, &bits, sizeof v);
        c.f64.push_back(v);
      } else if (c.dtype == DType::string) {
        std::string text;
        while (!(key[pos] == '\0' && key[pos + 1] == '\0')) {
          text += key[pos];
          pos += key[pos] == '\0' ? 2 : 1;
        }
        pos += 2;
        c.str.push_back(std::move(text));
      } else {
        c.i64.push_back(static_cast<std::int64_t>(get_u64(key, pos) ^ kSign));
      }
    }
  }
  return out;
}

}  // namespace rask::detail
