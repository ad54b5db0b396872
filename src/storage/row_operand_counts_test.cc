#include "storage/row_operand_counts.h"

#include <gtest/gtest.h>

namespace ringdb::storage {
namespace {

TEST(RowOperandCounts, CountsOperandsSinceTheLastCollapse) {
  RowOperandCounts counts(1024);
  const uint64_t a = RowOperandCounts::fingerprint("row-a");
  EXPECT_NE(a, RowOperandCounts::fingerprint("row-b"));
  EXPECT_NE(RowOperandCounts::fingerprint(""), 0u);
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
