#include "storage/fragment_counts.h"

#include <gtest/gtest.h>

namespace ringdb::storage {
namespace {

TEST(FragmentCounts, CountsOperandsSinceTheLastCollapse) {
  FragmentCounts counts(1024);
  const uint64_t a = FragmentCounts::fingerprint(10, 12345);
  EXPECT_NE(a, FragmentCounts::fingerprint(11, 12345));
  EXPECT_NE(a, FragmentCounts::fingerprint(10, 12346));
  EXPECT_NE(FragmentCounts::fingerprint(0, 0), 0u);
  EXPECT_EQ(counts.operands(a), 0u);
  for (int i = 0; i < 5; ++i) counts.record(a, false);
  EXPECT_EQ(counts.operands(a), 5u);
  counts.record(a, true);  // the plain row and this write's operand
  EXPECT_EQ(counts.operands(a), 1u);
  // Another partition in the same slot takes it over; the first starts again from zero.
  const uint64_t b = a + 1024;
  counts.record(b, false);
  EXPECT_EQ(counts.operands(b), 1u);
  EXPECT_EQ(counts.operands(a), 0u);
}

}  // namespace
}  // namespace ringdb::storage
