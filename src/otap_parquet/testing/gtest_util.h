// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Minimal test assertions for arrow::Status / arrow::Result, modelled on Arrow's
/// `arrow/testing/gtest_util.h` (whose library, libarrow_testing, the pyarrow wheel
/// does not ship). Header-only; include it from `*_test.cc` files only.

#include <utility>

#include <arrow/result.h>
#include <arrow/status.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#define OTAP_TEST_CONCAT_INNER(x, y) x##y
#define OTAP_TEST_CONCAT(x, y) OTAP_TEST_CONCAT_INNER(x, y)

/// Fails the test (fatally) unless `expr` (Status or Result) is OK.
#define ASSERT_OK(expr)                                             \
  for (::arrow::Status _st = ::arrow::ToStatus((expr)); !_st.ok();) \
  FAIL() << "'" #expr "' failed with " << _st.ToString()

/// Non-fatal variant of ASSERT_OK.
#define EXPECT_OK(expr)                                                    \
  do {                                                                     \
    ::arrow::Status _st = ::arrow::ToStatus((expr));                       \
    EXPECT_TRUE(_st.ok()) << "'" #expr "' failed with " << _st.ToString(); \
  } while (false)

#define OTAP_ASSERT_OK_AND_ASSIGN_IMPL(result_name, lhs, rexpr)          \
  auto result_name = (rexpr);                                            \
  ASSERT_TRUE(result_name.ok())                                          \
      << "'" #rexpr "' failed with " << result_name.status().ToString(); \
  lhs = std::move(result_name).ValueUnsafe();

/// Evaluates `rexpr` (a Result), fails the test unless it is OK, else assigns the
/// value to `lhs` (which may declare a variable: `ASSERT_OK_AND_ASSIGN(auto x, F())`).
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  OTAP_ASSERT_OK_AND_ASSIGN_IMPL(OTAP_TEST_CONCAT(_otap_result_, __COUNTER__), lhs, rexpr)

/// Fails the test unless `expr` fails with status code `ENUM` (e.g. Invalid, TypeError).
#define ASSERT_RAISES(ENUM, expr)                                                        \
  do {                                                                                   \
    ::arrow::Status _st = ::arrow::ToStatus((expr));                                     \
    ASSERT_TRUE(_st.Is##ENUM())                                                          \
        << "'" #expr "' was expected to fail with " #ENUM << ", got " << _st.ToString(); \
  } while (false)

/// Expects `expr` to fail with status code `ENUM` and a message matching the gmock
/// `matcher` (e.g. `::testing::HasSubstr("logs.id")`).
#define EXPECT_RAISES_WITH_MESSAGE_THAT(ENUM, matcher, expr)                             \
  do {                                                                                   \
    ::arrow::Status _st = ::arrow::ToStatus((expr));                                     \
    EXPECT_TRUE(_st.Is##ENUM())                                                          \
        << "'" #expr "' was expected to fail with " #ENUM << ", got " << _st.ToString(); \
    EXPECT_THAT(_st.message(), (matcher));                                               \
  } while (false)
