// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otlp/ingest.h"

#include <optional>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace otap_parquet::nodes::otlp_receiver {
namespace {

// Scenario: reservations of one protocol's budget taken (within a limit, and past
// it with Hold), grown, moved, move-assigned over another and destroyed.
// Guarantees: the gauge is the sum of what the live reservations hold; a refused
// Take holds nothing; a moved-from reservation gives nothing back; each byte is
// given back exactly once, so the gauge ends at 0.
TEST(InFlightBytesTest, EveryReservationIsGivenBackOnce) {
  Ingest ingest(nullptr);  // the byte budget needs no pipeline
  const auto held = [&] {
    return ingest.counters().in_flight_bytes[static_cast<int>(Protocol::kArrow)].load();
  };
  {
    auto first = InFlightBytes::Take(&ingest, Protocol::kArrow, 60, 100);
    ASSERT_TRUE(first.has_value());
    EXPECT_FALSE(InFlightBytes::Take(&ingest, Protocol::kArrow, 50, 100).has_value());
    EXPECT_EQ(held(), 60);
    InFlightBytes past = InFlightBytes::Hold(&ingest, Protocol::kArrow, 70);
    EXPECT_EQ(held(), 130);
    EXPECT_FALSE(first->TryGrowTo(80, 100));
    first->GrowTo(80);
    EXPECT_EQ(held(), 150);

    std::vector<InFlightBytes> moved;
    moved.push_back(std::move(past));  // `past` holds nothing now
    EXPECT_EQ(held(), 150);
    moved.back() = std::move(*first);  // gives the 70 back, holds the 80
    EXPECT_EQ(held(), 80);
    first.reset();
    EXPECT_EQ(held(), 80);
  }
  EXPECT_EQ(held(), 0);
  EXPECT_EQ(ingest.counters().in_flight_bytes[static_cast<int>(Protocol::kGrpc)].load(),
            0);
}

}  // namespace
}  // namespace otap_parquet::nodes::otlp_receiver
