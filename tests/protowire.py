# SPDX-License-Identifier: Apache-2.0
"""Protobuf wire-format pieces the tests write by hand (messages a generated class
cannot express: wrong, padded or crafted bytes)."""


def varint(n):
    """`n` (non-negative) as a base-128 varint."""
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        if not n:
            return out + bytes([b])
        out += bytes([b | 0x80])
