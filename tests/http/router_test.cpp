// The router's helpers: token comparison and percent-decoding of source ids.
#include "router.hpp"

#include <gtest/gtest.h>

namespace laredo::http::detail {
namespace {

TEST(HttpRouter, ConstantTimeEqualsComparesWholeTexts) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("s3cret", "s3cret"));
  EXPECT_FALSE(ConstantTimeEquals("s3cret", "s3creT"));
  EXPECT_FALSE(ConstantTimeEquals("s3cret", "s3cre"));
  EXPECT_FALSE(ConstantTimeEquals("s3cre", "s3cret"));
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
  // A prefix padded with NULs must not pass for the whole token.
  EXPECT_FALSE(ConstantTimeEquals(std::string("ab\0", 3), "ab"));
}

TEST(HttpRouter, PercentDecodesSourceIds) {
  EXPECT_EQ(PercentDecode("main"), "main");
  EXPECT_EQ(PercentDecode("a%2Fb"), "a/b");
  EXPECT_EQ(PercentDecode("%41%62"), "Ab");
  EXPECT_FALSE(PercentDecode("a%2"));
  EXPECT_FALSE(PercentDecode("a%"));
  EXPECT_FALSE(PercentDecode("%zz"));
}

}  // namespace
}  // namespace laredo::http::detail
