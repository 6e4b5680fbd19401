// rask-gen-minute: seeded minute-bar stock CSVs, one file per symbol and business day.
//
//   rask-gen-minute --out inputs/minute --symbols aig,ibm --start 2010-01-04 --days 20 --seed 7
//
// writes inputs/minute/<symbol>/<YYYY-MM-DD>.csv with the header
// timestamp,open,high,low,close,volume and 390 rows, 09:30 to 15:59, per weekday.
// With --layout workshop, the workshop's own files: timestamp,close,high,low,open and
// 2-minute bars from 09:00 to 16:00 (211 rows), no volume.
// Prices have 4 decimals; with --prices full, every digit of the double, as pandas'
// to_csv writes float64 (shortest round-trip form: 62.48110000000001, 62.0).
// The same arguments give the same bytes on any machine: prices come from a
// counter-based generator keyed by (seed, symbol, day, minute).
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::uint64_t mix(std::uint64_t z) {  // splitmix64 finalizer
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Uniform in [0, 1) from a counter.
double uniform(std::uint64_t key, std::uint64_t counter) {
  return static_cast<double>(mix(key + 0x9E3779B97F4A7C15ull * (counter + 1)) >> 11) * 0x1.0p-53;
}

std::uint64_t hash_string(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Days since 1970-01-01 of a civil date, and back (Howard Hinnant's algorithms).
long days_from_civil(long y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long>(doe) - 719468;
}

void civil_from_days(long z, long& y, unsigned& m, unsigned& d) {
  z += 719468;
  const long era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<long>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

// A price as the CSV shows it: 4 decimals, or (full) the shortest text that reads back
// as the same double, with ".0" on whole numbers as Python's repr writes them.
std::string price_text(double value, bool full) {
  std::array<char, 32> text{};
  if (!full) return std::string(text.data(), std::snprintf(text.data(), text.size(), "%.4f", value));
  const auto end = std::to_chars(text.data(), text.data() + text.size(), value).ptr;
  std::string out(text.data(), end);
  if (out.find_first_of(".e") == std::string::npos) out += ".0";
  return out;
}

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "rask-gen-minute: " << problem << "\n"
            << "usage: rask-gen-minute [--out DIR (inputs/minute)] [--symbols a,b,...] [--start YYYY-MM-DD] [--days N] [--seed S]"
               " [--layout full|workshop] [--prices 4|full]\n";
  std::exit(2);
}

// A whole number, or a usage error naming the option.
unsigned long long whole_number(const std::string& flag, const std::string& value) {
  char* end = nullptr;
  errno = 0;
  unsigned long long parsed = std::strtoull(value.c_str(), &end, 10);
  if (value.empty() || *end || errno || value[0] == '-') usage(flag + " wants a whole number, got '" + value + "'");
  return parsed;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out = "inputs/minute", symbols = "aig", start = "2010-01-04";
  long days = 20;
  std::uint64_t seed = 1;
  bool workshop = false, full_prices = false;
  for (int arg_idx = 1; arg_idx < argc; ++arg_idx) {
    std::string flag = argv[arg_idx];
    if (arg_idx + 1 >= argc) usage("missing value after " + flag);
    std::string value = argv[++arg_idx];
    if (flag == "--out") out = value;
    else if (flag == "--symbols") symbols = value;
    else if (flag == "--start") start = value;
    else if (flag == "--days") days = static_cast<long>(whole_number(flag, value));
    else if (flag == "--seed") seed = whole_number(flag, value);
    else if (flag == "--layout" && (value == "full" || value == "workshop")) workshop = value == "workshop";
    else if (flag == "--layout") usage("--layout wants full or workshop, got '" + value + "'");
    else if (flag == "--prices" && (value == "4" || value == "full")) full_prices = value == "full";
    else if (flag == "--prices") usage("--prices wants 4 or full, got '" + value + "'");
    else usage("unknown option " + flag);
  }
  long year = 0;
  unsigned month = 0, day = 0;
  if (std::sscanf(start.c_str(), "%ld-%u-%u", &year, &month, &day) != 3 || month < 1 || month > 12 || day < 1 ||
      day > 31)
    usage("--start wants YYYY-MM-DD, got '" + start + "'");
  if (days < 1) usage("--days wants a positive number");

  std::vector<std::string> names;
  for (std::stringstream list(symbols); std::getline(list, symbols, ',');)
    if (!symbols.empty()) names.push_back(symbols);

  const long first_day = days_from_civil(year, month, day);
  std::size_t files = 0;
  for (const auto& symbol : names) {
    const fs::path dir = fs::path(out) / symbol;
    fs::create_directories(dir);
    const std::uint64_t key = mix(seed ^ hash_string(symbol));
    double price = 20.0 + 180.0 * uniform(key, 0);
    long written = 0;
    for (long day_number = first_day; written < days; ++day_number) {
      const long weekday = ((day_number % 7) + 7 + 4) % 7;  // 1970-01-01 was a Thursday (4)
      if (weekday == 0 || weekday == 6) continue;
      long y;
      unsigned m, d;
      civil_from_days(day_number, y, m, d);
      char date[32];
      std::snprintf(date, sizeof date, "%04ld-%02u-%02u", y, m, d);
      // Written under a temporary name and renamed, so no reader sees half a file.
      const fs::path path = dir / (std::string(date) + ".csv");
      const fs::path tmp = dir / (std::string(date) + ".csv.tmp");
      std::ofstream file(tmp, std::ios::binary);
      if (!file) {
        std::cerr << "rask-gen-minute: cannot write " << tmp << "\n";
        return 1;
      }
      file << (workshop ? "timestamp,close,high,low,open\n" : "timestamp,open,high,low,close,volume\n");
      const int bars = workshop ? 211 : 390;
      const std::uint64_t day_key = mix(key + static_cast<std::uint64_t>(day_number));
      for (int minute = 0; minute < bars; ++minute) {
        // Full: one bar a minute from 09:30; workshop: one every 2 minutes from 09:00.
        const int offset = workshop ? 2 * minute : 30 + minute;
        const int hh = 9 + offset / 60, mm = offset % 60;
        const double open = price;
        // A random walk with about 0.1 % volatility a minute; highs and lows bracket it.
        const double step = (uniform(day_key, 4 * minute) + uniform(day_key, 4 * minute + 1) - 1.0) * 0.002;
        const double close = std::max(1.0, open * (1.0 + step));
        const double high = std::max(open, close) * (1.0 + 0.001 * uniform(day_key, 4 * minute + 2));
        const double low = std::min(open, close) * (1.0 - 0.001 * uniform(day_key, 4 * minute + 3));
        const long volume = 100 + static_cast<long>(5000 * uniform(day_key ^ 0x5eed, minute));
        char stamp[48];
        std::snprintf(stamp, sizeof stamp, "%s %02d:%02d:00", date, hh, mm);
        std::string row = stamp;
        for (double value : workshop ? std::array{close, high, low, open} : std::array{open, high, low, close}) {
          row += ',';
          row += price_text(value, full_prices);
        }
        if (!workshop) {
          row += ',';
          row += std::to_string(volume);
        }
        row += '\n';
        file << row;
        price = close;
      }
      file.close();
      if (!file) {
        std::cerr << "rask-gen-minute: writing " << tmp << " failed\n";
        return 1;
      }
      fs::rename(tmp, path);
      ++written;
      ++files;
    }
  }
  std::cout << "rask-gen-minute: wrote " << files << " files under " << out << "\n";
}
