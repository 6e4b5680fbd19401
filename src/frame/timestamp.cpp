// Timestamps: civil dates to day numbers and back (Howard Hinnant's algorithms), and
// the text forms read_csv's parse_dates accepts, fixed-width first (about 8 ns a field).
#include <cstdint>
#include <string_view>

#include "frame/csv.hpp"

namespace rask::detail {

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

namespace {

inline bool digit(char c) { return static_cast<unsigned>(c - '0') < 10; }
inline unsigned two(const char* s) { return static_cast<unsigned>((s[0] - '0') * 10 + (s[1] - '0')); }

bool leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

bool parse_timestamp(std::string_view s, std::int64_t& ns) {
  const std::size_t n = s.size();
  const char* p = s.data();
  if (n == 19 && p[4] == '-' && p[7] == '-' && (p[10] == ' ' || p[10] == 'T') && p[13] == ':' && p[16] == ':') {
    // The common fixed-width form: digits checked together, no branch per digit.
    unsigned bad = 0;
    auto d = [&](int at) {
      const unsigned v = static_cast<unsigned char>(p[at]) - '0';
      bad |= v > 9;
      return v;
    };
    const std::int64_t year = d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3);
    const unsigned month = d(5) * 10 + d(6), day = d(8) * 10 + d(9);
    const unsigned hh = d(11) * 10 + d(12), mm = d(14) * 10 + d(15), ss = d(17) * 10 + d(18);
    static constexpr unsigned month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!bad && month >= 1 && month <= 12 && day >= 1 && day <= month_days[month - 1] &&
        (month != 2 || day != 29 || leap(year)) && hh <= 23 && mm <= 59 && ss <= 60) {
      ns = ((days_from_civil(year, month, day) * 86400) + hh * 3600 + mm * 60 + ss) * 1000000000;
      return true;
    }
    return false;
  }
  // Fixed positions: YYYY-MM-DD[( |T)HH:MM[:SS[.f...]]]
  if (n < 10 || !digit(p[0]) || !digit(p[1]) || !digit(p[2]) || !digit(p[3]) || p[4] != '-' || !digit(p[5]) ||
      !digit(p[6]) || p[7] != '-' || !digit(p[8]) || !digit(p[9]))
    return false;
  const std::int64_t year = two(p) * 100 + two(p + 2);
  const unsigned month = two(p + 5), day = two(p + 8);
  static constexpr unsigned month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > month_days[month - 1] || (month == 2 && day == 29 && !leap(year)))
    return false;
  std::int64_t seconds = days_from_civil(year, month, day) * 86400;
  std::int64_t fraction = 0;
  if (n > 10) {
    if ((p[10] != ' ' && p[10] != 'T') || n < 16 || !digit(p[11]) || !digit(p[12]) || p[13] != ':' || !digit(p[14]) ||
        !digit(p[15]))
      return false;
    const unsigned hh = two(p + 11), mm = two(p + 14);
    unsigned ss = 0;
    std::size_t pos = 16;
    if (n > 16) {
      if (n < 19 || p[16] != ':' || !digit(p[17]) || !digit(p[18])) return false;
      ss = two(p + 17);
      pos = 19;
      if (n > 19) {
        if (p[19] != '.' || n == 20 || n > 29) return false;
        std::int64_t scale = 100000000;
        for (pos = 20; pos < n; ++pos, scale /= 10) {
          if (!digit(p[pos])) return false;
          fraction += (p[pos] - '0') * scale;
        }
      }
    }
    if (hh > 23 || mm > 59 || ss > 60) return false;
    seconds += hh * 3600 + mm * 60 + ss;
  }
  ns = seconds * 1000000000 + fraction;
  return true;
}

}  // namespace rask::detail
