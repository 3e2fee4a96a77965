"""What deployed code contains, read from its bytes: the selectors its dispatcher compares against, and
whether an opcode occurs as an instruction (push data and the compiler's metadata are skipped)."""

from __future__ import annotations

PUSH0 = 0x5F
PUSH1 = 0x60
PUSH32 = 0x7F
DELEGATECALL = 0xF4
SELFDESTRUCT = 0xFF


def _without_metadata(code: bytes) -> bytes:
    """solc appends CBOR metadata whose length is the code's last two bytes; it is data, not instructions."""
    if len(code) < 2:
        return code
    length = int.from_bytes(code[-2:], "big")
    return code[: -(length + 2)] if 0 < length + 2 <= len(code) else code


def _instructions(code: bytes) -> list[tuple[int, bytes]]:
    """(opcode, its push data) for each instruction, in order."""
    out: list[tuple[int, bytes]] = []
    i = 0
    while i < len(code):
        op = code[i]
        width = op - PUSH0 if PUSH1 <= op <= PUSH32 else 0
        out.append((op, code[i + 1 : i + 1 + width]))
        i += 1 + width
    return out


def code_pushes_selector(code: bytes, selector: bytes) -> bool:
    """True when the code pushes this 4-byte selector (as the dispatcher does for each external function).

    A selector with leading zero bytes is pushed with a shorter PUSH, so it is compared as a number."""
    wanted = int.from_bytes(selector, "big")
    return any(
        PUSH1 <= op <= PUSH1 + 3 and int.from_bytes(data, "big") == wanted
        for op, data in _instructions(_without_metadata(code))
    )


def code_has_opcode(code: bytes, opcode: int) -> bool:
    return any(op == opcode for op, _ in _instructions(_without_metadata(code)))
