"""Investor attribute flags as the on-chain InvestorRegistry stores them (one bit each)."""

from enum import IntFlag


class InvestorFlag(IntFlag):
    KYC = 1 << 0  # identity verified (CIP / KYC passed); required to count as verified
    ACCREDITED = 1 << 1  # Rule 501(a) accredited investor
    US_PERSON = 1 << 2  # Regulation S, Rule 902(k)
    ENTITY = 1 << 3  # an entity rather than a natural person
