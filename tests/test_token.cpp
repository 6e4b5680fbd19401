#include <gtest/gtest.h>

#include <rask/token.hpp>
#include <set>

TEST(Token, EqualValuesHaveEqualTokens) {
  EXPECT_EQ(rask::tokenize(42), rask::tokenize(42));
  EXPECT_EQ(rask::tokenize(std::string("abc")), rask::tokenize(std::string("abc")));
  EXPECT_EQ(rask::tokenize(std::vector<double>{1, 2, 3}), rask::tokenize(std::vector<double>{1, 2, 3}));
  EXPECT_EQ(rask::tokenize(std::pair{1, std::string("x")}), rask::tokenize(std::pair{1, std::string("x")}));
}

TEST(Token, DifferentValuesAndTypesDiffer) {
  std::set<rask::Token> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(rask::tokenize(i));
  EXPECT_EQ(seen.size(), 10000u);
  // The same bits as another type are another value.
  EXPECT_NE(rask::tokenize(1), rask::tokenize(1L));
  EXPECT_NE(rask::tokenize(1.0f), rask::tokenize(1));
  EXPECT_NE(rask::tokenize(std::vector<int>{1, 2}), rask::tokenize(std::vector<int>{2, 1}));
  EXPECT_NE(rask::tokenize(std::string("ab")), rask::tokenize(std::string("ba")));
}

TEST(Token, KnownValueIsStableAcrossBuilds) {
  // Keys appear in logs and plans; a token must not change between runs or machines.
  EXPECT_EQ(rask::token_bytes("rask", 4, 0), rask::token_bytes("rask", 4, 0));
  EXPECT_NE(rask::token_bytes("rask", 4, 0), 0u);
  EXPECT_NE(rask::token_bytes("rask", 4, 0), rask::token_bytes("rask", 4, 1));
}

struct Unknown {
  int x;
};

TEST(Token, UnknownTypesGetFreshTokens) {
  // rask cannot tell two Unknowns apart by value, so it never shares their calls.
  EXPECT_NE(rask::tokenize(Unknown{1}), rask::tokenize(Unknown{1}));
}

// Small seeds and small values (task ids, chunk indices) must not cancel out: every
// pair of a 256 x 256 grid gets its own token.
TEST(Token, CombiningSmallNumbersNeverCollides) {
  std::set<rask::Token> seen;
  for (std::uint64_t seed = 0; seed < 256; ++seed)
    for (std::uint64_t value = 0; value < 256; ++value) seen.insert(rask::token_combine(seed, value));
  EXPECT_EQ(seen.size(), 256u * 256u);
  EXPECT_NE(rask::token_combine(0, 63), rask::token_combine(1, 0));
}
