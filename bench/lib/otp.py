"""HOTP (RFC 4226) and TOTP (RFC 6238) codes, SHA-1, for the benchmark drivers."""
import base64
import hashlib
import hmac
import struct
import time


def hotp(key: bytes, counter: int, digits: int = 6) -> str:
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % (10 ** digits)
    return str(code).zfill(digits)


def totp_step(now: float | None = None, period: int = 30) -> int:
    return int((time.time() if now is None else now) // period)


def seed(i: int) -> bytes:
    """The known 20-byte seed of benchmark account i (the same on every system)."""
    return hashlib.sha1(b"latchkey-bench-seed-%d" % i).digest()


def seed_base32(i: int) -> str:
    return base64.b32encode(seed(i)).decode().rstrip("=")


def username(i: int) -> str:
    return "bench%07d" % i


def luhn_digit(payload: str) -> int:
    total = 0
    for index, ch in enumerate(reversed(payload)):
        d = int(ch)
        if index % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def serial(i: int) -> str:
    """A valid latchkey serial for account i: nine digits and a Luhn check digit."""
    payload = "%09d" % (100_000_000 + i)
    return payload + str(luhn_digit(payload))
